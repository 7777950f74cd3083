"""Every write of the disclosure area (居务公开, 民主监督), one module per concern: the due-date rules
and the expected-items schedule (``rules``), items and their attachments (``items``), disclosed
lists masked at entry (``lists``), residents' questions and challenges (``questions``), the periodic
reminders (``jobs``); their events, notice texts and handlers (``events``, ``notices``,
``handlers``, imported by the app's ``ready()``)."""
