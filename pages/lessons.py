"""Lessons: seven guided experiments, each one click, one figure, one question and a measured answer."""
import streamlit as st

from vdae_core.foundation.errors import UserInputError
from vdae_core.lessons import get_lesson, lessons, run_lesson
from vdae_core.lessons.base import is_ready
from vdae_core.ui import frame, jobs, nav, presentation, state, widgets

ss = st.session_state
frame.ensure_routed("lessons")
st.title("Lessons")
if not presentation.active():
    st.caption("Guided experiments, one idea each: one click trains what the lesson needs (a few seconds, then kept "
               "for everyone on this studio), one figure, a question, and an answer written from the numbers "
               "measured on those runs. Share a lesson by its link.")
state.show_flashes()

ALL = lessons()
keys = [L.key for L in ALL]
# The lesson on screen lives in a plain session key ("lessons.current"), not only in the widget's, so it is
# still there after a visit to another page (Streamlit drops the state of widgets a page run did not draw).
url_key = st.query_params.get("lesson")
if url_key in keys and ss.get("lessons.seen_url") != url_key:  # a pasted link opens its lesson once
    ss["lessons.current"] = url_key
    ss.pop("lessons.pick", None)
if ss.get("lessons.current") not in keys:
    ss["lessons.current"] = keys[0]


def _picked() -> None:
    ss["lessons.current"] = ss["lessons.pick"]


pick = st.selectbox("Lesson", keys, index=keys.index(ss["lessons.current"]), key="lessons.pick",
                    on_change=_picked, format_func=lambda k: f"{keys.index(k) + 1}. {get_lesson(k).title}",
                    label_visibility="collapsed")
st.query_params["lesson"] = pick
ss["lessons.seen_url"] = pick  # the URL now names the lesson on screen (a link shared from here opens it)
lesson = get_lesson(pick)
scale = jobs.demo_scale()

st.subheader(f"{keys.index(pick) + 1}. {lesson.title}")
presentation.explain(lesson.intro, "The idea")


def _progress(bar):
    shown = [0.0]

    def show(frac, text):  # frac None: a new text at the same fraction (a run waiting for a training slot)
        shown[0] = shown[0] if frac is None else min(max(frac, 0.0), 1.0)
        bar.progress(shown[0], text=text)
    return show


ready = is_ready(lesson, scale=scale)
if not ready and not ss.get(f"lessons.go.{pick}"):
    models = ", ".join(sorted({s.label for s in lesson.runs}))
    if st.button("Run this lesson", type="primary", icon=":material/play_arrow:", key=f"lessons.run.{pick}",
                 help=f"Trains {models} with short presets (under 30 s on a 2-core CPU), then it is kept."):
        ss[f"lessons.go.{pick}"] = True
        st.rerun()
    st.caption(f"Trains: {models}. Nothing is trained until you press the button.")
    st.stop()

bar = None if ready else st.progress(0.0, text="Starting…")
try:
    with st.spinner("Opening the lesson…" if ready else "Training and measuring…"):
        show = _progress(bar) if bar else None
        res = run_lesson(lesson, scale=scale, progress=show,
                         train=jobs.queued_trainer(show and (lambda text: show(None, text))))
except UserInputError as e:
    ss.pop(f"lessons.go.{pick}", None)
    widgets.error_box(e, "the lesson")
    st.stop()
if bar is not None:
    bar.empty()

fig = res.figure
if sum(1 for k in fig.layout if k.startswith("scene")) > 1:
    widgets.linked_figure(fig, f"lessons.fig.{pick}", f"lesson_{pick}", camera_key=pick)
else:
    widgets.figure(fig, f"lessons.fig.{pick}", f"lesson_{pick}")
st.info(f"**Question.** {lesson.question}", icon=":material/help:")
with st.expander("Answer (measured on these runs)", expanded=False):
    st.markdown(lesson.answer(res.numbers))
    secs = res.numbers.get("train_seconds") or {}
    st.caption("Runs: " + "; ".join(f"{s.label} — {s.model} on {s.data.get('dataset')} (n = {s.data.get('n')}, seed "
                                    f"{s.seed}), trained in {secs.get(s.role, float('nan')):.1f} s" for s in lesson.runs)
               + f". {'Read from the lesson cache' if res.cached else 'Computed'} in {res.seconds:.1f} s.")

c = st.columns([1.3, 1.3, 1.7])
if c[0].button("Open in the studio", icon=":material/open_in_new:", key=f"lessons.open.{pick}",
               help="The lesson's run on the page that shows it in full, with every control."):
    spec = lesson.run_spec(lesson.open_role)
    if lesson.open_page == "data":  # the lesson's very sample: its dataset, size, seed and no noise
        state.set_selection(upload_path=None, dataset=spec.data["dataset"], n=spec.data.get("n", 2000),
                            seed=spec.seed, noise=0.0)
    else:
        state.select_run(res.runs[spec.role])
    st.switch_page(nav.page(lesson.open_page))
ready_ones = [L for L in ALL if is_ready(L, scale=scale)]


def _handout() -> str:
    """Built on the click (the lessons come from their caches; one that cannot be read is left out)."""
    from vdae_core.lessons.handout import handout_html

    done = []
    for L in ready_ones:
        try:
            done.append((L, run_lesson(L, scale=scale)))
        except UserInputError:
            continue
    return handout_html(done)


with c[1]:
    st.download_button(f"Handout: {len(ready_ones)} of {len(ALL)} lessons", _handout,
                       "vdae_lessons.html", "text/html", key="lessons.handout", icon=":material/download:",
                       on_click="ignore", help="Every lesson run so far as one self-contained page (interactive "
                                               "figures, questions, answers with their numbers) for a class without "
                                               "a server. Run the others first to include them.")
c[2].caption("From a terminal: `python -m vdae_core lessons --out lessons.html` runs every lesson and writes the "
             "handout.")
