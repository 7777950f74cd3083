"""Base data (一标三实): standard addresses, actual houses, actual population, actual units.

Where things are:

* ``models``      roads, buildings, units, houses; people, residences, households; organizations,
                  key places; the tag catalog, person tags and tag grants; the timeline; visits.
* ``validators``  ID numbers (GB 11643), credit codes (GB 32100), phones, names, region codes.
* ``pinyin``      ``name_pinyin(name) -> (full, initials)`` with the surname table.
* ``addresses``   the standard address string, stored on buildings and houses.
* ``services``    every write (``<entity>_<verb>(*, actor, ...)``) and the ``clean_*_data``
                  functions that imports reuse.
* ``selectors``   every read, scoped to a viewer; tag visibility (``visible_tag_q``,
                  ``can_view_tag``) and the audit of restricted-tag views.
* ``permissions`` the permission codes and which roles hold them.
* ``events``      the domain events the services emit.
* ``timeline``    how timeline entries read in the viewer's language.
"""
