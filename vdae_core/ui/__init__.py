"""The only Streamlit-aware code of VDAE Studio.

Modules: :mod:`.state` (session state, URL query parameters, the active run), :mod:`.cache` (cached
wrappers of heavy library calls), :mod:`.forms` (forms generated from config dataclasses),
:mod:`.jobs` (the session-scoped training job driven by ``Trainer.advance`` inside a fragment),
:mod:`.widgets` (figures with HTML download, tables with CSV download, run zips), :mod:`.sidebar`.

Importing this package is cheap; heavy libraries (torch, the models) are imported where first used.
"""
