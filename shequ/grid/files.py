"""Photo bytes as HTTP responses, for the ticket page and the API alike (both check the scope first)."""

from __future__ import annotations

from django.http import FileResponse, Http404

from shequ.grid.models import Attachment, Ticket


def photo_response(ticket: Ticket, att: Attachment) -> FileResponse:
    """The photo's bytes for the page and the API: not cached, not sniffed, named by the ticket."""
    try:
        handle = att.file.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=att.content_type)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{ticket.number}-{att.pk}{att.extension}"'
    return response
