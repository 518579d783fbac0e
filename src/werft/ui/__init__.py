"""The web UI: server-rendered pages over the same services and permissions as the API.

``werft server`` mounts it at ``/`` (:func:`werft.ui.mount.install`). Each page
group is one module in :mod:`werft.ui.pages` with its own ``router`` and
templates; strings come from the English and German catalogs in
:mod:`werft.ui.messages`. docs/ui.md says how to add a page.
"""
