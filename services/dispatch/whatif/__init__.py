"""What-if: replay past incidents under another escalation policy, read-only and in memory.

A supervisor who wants to shorten a deadline or lengthen the chain can see
what it would have done to the district's recorded incidents, side by side
with what actually happened.  Dispatch's decisions are pure functions of the
incident, the roster as known at the time, the responders' loads and the
pinned policy, so the replay drives dispatch's own domain code
(``services.dispatch.domain``) over the recorded history instead of
re-implementing the rules.  Nothing is written anywhere: the history is read
from dispatch's store and the replay runs in memory.

* :mod:`.history`   folds the store's domain events into what the replay needs;
* :mod:`.reading`   reads those events from a store (the live one or offline);
* :mod:`.behaviour` the responder model: recorded answers reused, else drawn;
* :mod:`.decisions` dispatch's decision steps, on the pure domain;
* :mod:`.replay`    the discrete-event replay of the whole district;
* :mod:`.measures`  time to assign and acknowledge, steps, pages, load balance;
* :mod:`.fidelity`  the replay under the pinned policies against the record;
* :mod:`.run`       one run: the policy's TOML in, the result document out;
* :mod:`.report`    the self-describing JSON result and its text table;
* :mod:`.files`     CSV, JSON and the PNG chart;
* :mod:`.operation` the ``run_whatif`` operation (HTTP and NATS) and its access rule;
* :mod:`.gc_pause`  the cyclic garbage collector paused while a replay allocates.
"""
