"""Who is looking: a private owner id per browser, the boundary between users' data.

Runs trained on an upload, and the uploads themselves, belong to the browser that uploaded them: the
owner id is kept in the run folder (``run.json``: ``owner``) and in the upload folder's name, and other
browsers never list, open or download them. The id is a random 128-bit token kept in a cookie
(``vdae_owner``, same site, 30 days), so a reload or a second tab of the same browser is the same owner
(and re-attaches to its training), while another browser is not. Where the cookie cannot be set (cookies
blocked), the id lasts as long as the Streamlit session.
"""
from __future__ import annotations

import re
import uuid

import streamlit as st

COOKIE = "vdae_owner"
MAX_AGE_S = 30 * 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def _from_cookie() -> str | None:
    try:
        tok = st.context.cookies.get(COOKIE)
    except Exception:  # no browser context (bare script run)
        return None
    return tok if isinstance(tok, str) and _TOKEN.match(tok) else None


def owner_id() -> str:
    """This browser's owner id (32 hex digits), from its cookie or newly made for it."""
    ss = st.session_state
    if "_owner" not in ss:
        tok = _from_cookie()
        ss["_owner"] = tok or uuid.uuid4().hex
        ss["_owner_cookie_due"] = tok is None
    return ss["_owner"]


def remember_browser() -> None:
    """Store a new owner id in the browser's cookie (draws nothing visible).

    Emitted on every script run of a session that started without the cookie: a run cut short by a rerun
    or a page switch may never deliver its elements, so once is not enough.
    """
    ss = st.session_state
    owner_id()
    if ss.get("_owner_cookie_due"):
        st.html(f"<script>document.cookie = '{COOKIE}={ss['_owner']}; path=/; max-age={MAX_AGE_S}; "
                "SameSite=Strict';</script>", unsafe_allow_javascript=True, width="content")
