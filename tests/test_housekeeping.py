"""The server's garbage collection (issue 34's soak): frozen imports make a full collection cheap, and the timed
collector frees cyclic garbage (a closed session's event loop and its handles) without waiting for Python's
thresholds."""
import gc
import os
import time
import weakref

from vdae_core.foundation.housekeeping import Collector


class _Node:
    pass


def _cycle():
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_the_collector_frees_a_reference_cycle_on_its_timer():
    gc.disable()  # only the collector may free it
    try:
        ref = _cycle()
        assert ref() is not None  # unreachable, but a cycle: reference counting alone never frees it
        c = Collector(every=0.05)
        c.start()
        t0 = time.time()
        while ref() is not None:
            assert time.time() - t0 < 5, "the cycle outlived 100 collector periods"
            time.sleep(0.01)
        c.stop()
        c.join(timeout=5)
        assert not c.is_alive() and c.last[1] >= 2  # it collected the two nodes (at least)
    finally:
        gc.enable()


def test_an_unclosed_event_loop_in_a_cycle_gives_its_handles_back_when_collected():
    import asyncio

    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    gc.collect()
    c = Collector(every=0.05)
    gc.disable()
    try:
        before = open_fds()
        loop = asyncio.new_event_loop()  # what each Streamlit session owns: an epoll handle and a socket pair
        holder = _Node()
        holder.loop, loop._holder = loop, holder  # kept in a cycle, as a dropped session's objects are
        del loop, holder
        assert open_fds() >= before + 3
        c.start()
        t0 = time.time()
        while open_fds() > before:
            assert time.time() - t0 < 5, "the loop's handles were not given back"
            time.sleep(0.01)
    finally:
        c.stop()
        gc.enable()
