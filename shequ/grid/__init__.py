"""Grid events and resident requests: community input → online push → department response
(capabilities G1, S2 and the request-handling part of G2). One ``Ticket`` model with a source; the
category tree, routing rules and working-day deadlines; the workflow services; supervision and
escalation; the classifier; the department portal and the resident pages; Open311 GeoReport v2;
statistics."""
