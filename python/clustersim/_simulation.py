"""clustersim.Simulation: one run of a scenario, driven from Python."""

import json
import os
import pathlib

from . import _native
from ._durations import duration_ns, duration_text

_ALL_HEAL = "all"


def _target(value, what="target"):
    """A TARGET of the scenario format: a node name, a selector, or a list of node names."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError(f"{what}: expected a node name, a selector such as \"leader\", or a list of node names, "
                    f"got {value!r}")


class Node:
    """A node as every layer of its protocol sees it, read at one moment.

    Always present: ``name``, ``id``, ``server``, ``datacenter``, ``up``,
    ``paused``. Layers add their own parts while the node is up: ``raft``
    (role, term, leader, commit_index, last_applied, ...), ``serf``,
    ``memberlist``, ``agent`` (a Consul agent's services, checks, events),
    ``heartbeat``; each is a dict, or None. ``role``, ``term``,
    ``commit_index`` and ``last_applied`` are shortcuts into ``raft``.
    """

    __slots__ = ("_d",)

    def __init__(self, data):
        self._d = data

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        if key in self._d:
            return self._d[key]
        raise AttributeError(f"node {self._d.get('name')!r} has no {key!r} "
                             f"(it has: {', '.join(sorted(self._d))})")

    def _layer(self, layer):
        return self._d.get(layer)

    @property
    def raft(self):
        """The Raft layer's view (dict), or None (not a Raft server, or down)."""
        return self._layer("raft")

    @property
    def serf(self):
        """The serf layer's view (dict: state, members, alive, failed, left, ...), or None."""
        return self._layer("serf")

    @property
    def memberlist(self):
        """The memberlist layer's view (dict: running, incarnation, health_score, nodes, members, suspects), or None."""
        return self._layer("memberlist")

    @property
    def agent(self):
        """The Consul agent's view (dict: server, services, checks, user_events, sync, ...), or None."""
        return self._layer("agent")

    def _raft_field(self, key):
        r = self.raft
        return None if r is None else r.get(key)

    @property
    def role(self):
        """Raft role ("leader", "follower", "candidate"), or None."""
        return self._raft_field("role")

    @property
    def term(self):
        """Raft term, or None."""
        return self._raft_field("term")

    @property
    def commit_index(self):
        """Raft commit index, or None."""
        return self._raft_field("commit_index")

    @property
    def last_applied(self):
        """The last Raft index applied to the state machine, or None."""
        return self._raft_field("last_applied")

    def as_dict(self):
        """Everything as a plain dict."""
        return dict(self._d)

    def __eq__(self, other):
        return isinstance(other, Node) and other._d == self._d

    def __repr__(self):
        state = "down" if not self._d["up"] else "paused" if self._d["paused"] else "up"
        parts = [self._d["name"], "server" if self._d["server"] else "client", state]
        r = self.raft
        if r:
            parts.append(f"raft={r['role']}/t{r['term']}/c{r['commit_index']}")
        a = self.agent
        if a:
            parts.append(f"agent={a['services']}svc/{a['checks']}chk/{a['user_events']}ev")
        s = self.serf
        if s:
            parts.append(f"serf={s['alive']}/{s['members']}alive")
        return "<Node " + " ".join(parts) + ">"


class Simulation:
    """One run of a scenario: step it, run it, inject faults, read its state.

    Make one with :meth:`from_file` or :meth:`from_dict`. Time is virtual, in
    integer nanoseconds; durations may be given as strings ("150ms") or
    nanoseconds. The scenario's own faults and expectations apply as in
    ``clustersim run``; faults called here are applied at once, on top.
    When the run reaches the scenario's ``until`` it finishes: the
    expectations are evaluated (:attr:`expectations`, :attr:`passed`) and
    nothing more can run. The same scenario and seed give the same
    :attr:`trace_hash` as the command line.

    Nodes and selectors: faults take a node name (``"s1"``), a list of names,
    or a selector (``"leader"``, ``"followers"``, ``"random_server"``,
    ``"all_clients"``, ``"all_crashed"``, ...), resolved when applied.
    Protocol actions (``add_voter``, ``register_service``, ``join``, ...) are
    methods named after the action (see :attr:`actions`), as are the
    protocol's state queries (see :attr:`queries`).
    """

    def __init__(self, scenario, seed=None, trace=False):
        if isinstance(scenario, (str, os.PathLike)):
            raise TypeError("Simulation(...) takes a scenario dict; use Simulation.from_file(path) for a file")
        if not isinstance(scenario, dict):
            raise TypeError(f"a scenario is a dict (the JSON document), got {type(scenario).__name__}")
        try:
            text = json.dumps(scenario)
        except (TypeError, ValueError) as e:
            raise TypeError(f"the scenario is not JSON data: {e}") from None
        self._open(text, "scenario", seed, trace)

    def _open(self, text, origin, seed, trace):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 or seed >= 2**64):
            raise ValueError(f"seed must be an integer in [0, 2^64), got {seed!r}")
        only = []
        if isinstance(trace, (list, tuple, set, frozenset)):
            if not trace or not all(isinstance(t, str) and t for t in trace):
                raise TypeError("trace: True, False, or a list of event types such as [\"raft.role\"]")
            only, trace = sorted(trace), True
        elif not isinstance(trace, bool):
            raise TypeError("trace: True, False, or a list of event types such as [\"raft.role\"]")
        self._s = _native.Session(text, origin, seed, trace, only)
        self._trace_enabled = trace
        self._trace_lines = []
        self._scenario_doc = None  # read on first use
        self._actions = None
        self._query_defs = None

    @classmethod
    def _from_text(cls, text, origin, seed=None, trace=False):
        sim = cls.__new__(cls)
        sim._open(text, origin, seed, trace)
        return sim

    @property
    def _scenario(self):
        if self._scenario_doc is None:
            self._scenario_doc = self._s.scenario()
        return self._scenario_doc

    @property
    def _queries(self):
        if self._query_defs is None:
            self._query_defs = {q["name"]: q for q in self._s.queries()}
        return self._query_defs

    # ------------------------------------------------------------------ making

    @classmethod
    def from_file(cls, path, seed=None, trace=False):
        """Loads a scenario file; ``seed`` overrides its seed. ``trace=True`` keeps every event,
        ``trace=["raft.role", ...]`` only the events of those types (see :meth:`trace_frame`).

        The file is checked exactly as ``clustersim run`` checks it: a bad one raises
        :class:`ScenarioError` listing every error with its JSON path."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"from_file(): expected a path, got {type(path).__name__}")
        try:
            text = pathlib.Path(path).read_text()
        except OSError as e:
            raise FileNotFoundError(f"cannot read scenario file '{path}': {e.strerror}") from None
        except UnicodeDecodeError:
            raise ValueError(f"scenario file '{path}' is not UTF-8 text") from None
        return cls._from_text(text, str(path), seed, trace)

    @classmethod
    def from_dict(cls, scenario, seed=None, trace=False):
        """Makes a run of a scenario given as a dict (the JSON document), checked as a file would be."""
        return cls(scenario, seed=seed, trace=trace)

    # ------------------------------------------------------------------ running

    def run(self, until=None):
        """Runs to virtual time ``until`` (default: the scenario's end, which finishes the run)."""
        t = self._s.until if until is None else duration_ns(until, "until")
        self._s.run_until(t)
        return self

    def run_for(self, duration):
        """Runs for ``duration`` more virtual time (stopping at the scenario's end)."""
        self._s.run_until(self._s.now + duration_ns(duration, "duration"))
        return self

    def step(self):
        """Processes one event; False when the run has reached its end (and finished)."""
        return self._s.step()

    # ------------------------------------------------------------------ faults

    def _fault(self, obj):
        return self._s.fault(obj)

    def crash(self, target, lose_unsynced=None):
        """Crashes the target nodes (volatile state lost; with lose_unsynced, unsynced writes too)."""
        f = {"crash": _target(target)}
        if lose_unsynced is not None:
            f["lose_unsynced"] = bool(lose_unsynced)
        return self._fault(f)

    def restart(self, target):
        """Restarts crashed nodes on their durable storage."""
        return self._fault({"restart": _target(target)})

    def pause(self, target):
        """Freezes the target processes: their timers and inbound messages wait."""
        return self._fault({"pause": _target(target)})

    def resume(self, target):
        """Resumes paused processes: what waited runs at once."""
        return self._fault({"resume": _target(target)})

    def isolate(self, target):
        """Puts each target node in a partition group of its own."""
        return self._fault({"isolate": _target(target)})

    def partition(self, groups=None, shape=None):
        """Partitions the network: explicit ``groups`` (lists of node names) or a Jepsen ``shape``
        ("random_halves", "majorities_ring", "bridge")."""
        if (groups is None) == (shape is None):
            raise TypeError("partition() takes groups=[[...], [...]] or shape=\"...\", exactly one")
        if groups is not None:
            return self._fault({"partition": {"groups": [_target(g, "group") for g in groups]}})
        return self._fault({"partition": {"shape": shape}})

    def block(self, from_, to):
        """One-way: packets from ``from_`` to ``to`` are dropped, the other way still flows."""
        return self._fault({"block": {"from": _target(from_, "from_"), "to": _target(to, "to")}})

    def heal(self):
        """Clears every partition group and one-way block."""
        return self._fault({"heal": _ALL_HEAL})

    @staticmethod
    def _link(latency, loss, duplicate, reorder, bandwidth):
        link = {}
        if latency is not None:
            link["latency"] = duration_text(latency, "latency") if isinstance(latency, int) else latency
        for k, v in (("loss", loss), ("duplicate", duplicate), ("reorder", reorder), ("bandwidth", bandwidth)):
            if v is not None:
                link[k] = v
        return link

    def degrade(self, nodes=None, wan=None, latency=None, loss=None, duplicate=None, reorder=None, bandwidth=None):
        """Worsens the access links of ``nodes`` or the WAN link ``wan=(dc_a, dc_b)`` until :meth:`restore`.
        ``latency`` is a duration or a distribution dict ({"uniform": ["1ms", "5ms"]}), ``loss``,
        ``duplicate``, ``reorder`` probabilities, ``bandwidth`` e.g. "100Mbps"."""
        if (nodes is None) == (wan is None):
            raise TypeError("degrade() takes nodes=... or wan=(dc_a, dc_b), exactly one")
        f = {"nodes": _target(nodes)} if nodes is not None else {"wan": list(wan)}
        f.update(self._link(latency, loss, duplicate, reorder, bandwidth))
        return self._fault({"degrade": f})

    def restore(self, nodes=None, wan=None):
        """Puts degraded links back to their configured settings."""
        if (nodes is None) == (wan is None):
            raise TypeError("restore() takes nodes=... or wan=(dc_a, dc_b), exactly one")
        return self._fault({"restore": _target(nodes) if nodes is not None else {"wan": list(wan)}})

    def clock(self, target, drift_ppm=None, jump=None):
        """Changes the target nodes' local clocks: a drift in parts per million, or a jump (a signed duration)."""
        if (drift_ppm is None) == (jump is None):
            raise TypeError("clock() takes drift_ppm=... or jump=..., exactly one")
        f = {"nodes": _target(target)}
        if drift_ppm is not None:
            f["drift_ppm"] = drift_ppm
        else:
            f["jump"] = jump if isinstance(jump, str) else (("-" if jump < 0 else "") + duration_text(abs(jump), "jump"))
        return self._fault({"clock": f})

    def slow(self, target, delay):
        """Makes the target members slow: each inbound message is handled after the ones before it plus
        a draw of ``delay`` (a duration or a distribution dict)."""
        d = duration_text(delay, "delay") if isinstance(delay, int) else delay
        return self._fault({"slow": _target(target), "delay": d})

    def unslow(self, target):
        """Ends :meth:`slow` for the target members."""
        return self._fault({"unslow": _target(target)})

    def act(self, action, target, **params):
        """Runs a protocol action of the scenario format on ``target`` (e.g.
        ``act("register_service", "c1", service={"name": "web"})``); the same as calling the
        method named after the action."""
        if not isinstance(action, str):
            raise TypeError("act(): the action is a name such as \"add_voter\"")
        f = {action: _target(target)}
        for k, v in params.items():
            f[k] = v
        return self._fault(f)

    @property
    def actions(self):
        """The protocol actions this run's protocol offers (each is also a method)."""
        if self._actions is None:
            self._actions = list(_native.stack_actions(self.protocol))
        return list(self._actions)

    # ------------------------------------------------------------------ state

    @property
    def name(self):
        """The scenario's name."""
        return self._scenario["name"]

    @property
    def protocol(self):
        """The protocol stack the scenario runs: "raft", "gossip", "consul" or "heartbeat"."""
        return self._scenario.get("protocol", "raft")

    @property
    def scenario(self):
        """The scenario as the parser read it (every default written out)."""
        return json.loads(json.dumps(self._scenario))

    @property
    def seed(self):
        """The run's seed (the scenario's, unless given)."""
        return self._s.seed

    @property
    def now(self):
        """Virtual time, in nanoseconds."""
        return self._s.now

    @property
    def until(self):
        """The scenario's end, in nanoseconds."""
        return self._s.until

    @property
    def finished(self):
        """True once the run reached the scenario's end (expectations evaluated; nothing more runs)."""
        return self._s.finished

    @property
    def trace_hash(self):
        """The run's 64-bit fingerprint so far, as 16 hex digits."""
        return self._s.trace_hash

    @property
    def events(self):
        """Events processed so far."""
        return self._s.events

    @property
    def leader(self):
        """The running leader's name (the first datacenter's, in the consul protocol), or None."""
        return self._s.leader()

    @property
    def nodes(self):
        """Every node, as :class:`Node` objects."""
        return [Node(d) for d in self._s.nodes()]

    def node(self, name):
        """One node by name, as a :class:`Node`."""
        if not isinstance(name, str):
            raise TypeError(f"node(): expected a node name, got {type(name).__name__}")
        return Node(self._s.node(name))

    def summary(self):
        """Everything ``clustersim run --json`` prints, as a dict."""
        return self._s.summary()

    @property
    def messages(self):
        """Message counts: sent, delivered, dropped (and by reason), duplicated."""
        return self._s.summary()["messages"]

    @property
    def metrics(self):
        """The metrics of every layer and workload (``metrics`` of ``run --json``), as plain data."""
        return self._s.summary()["metrics"]

    @property
    def expectations(self):
        """The expectations' verdicts so far: name, pass, at_ns, trace_position, detail."""
        return self._s.summary()["expectations"]

    @property
    def passed(self):
        """True when the run has finished and every expectation held."""
        return self.finished and self._s.summary()["passed"]

    @property
    def faults(self):
        """The faults applied so far (the scenario's and yours), as the summary lists them."""
        return self._s.summary()["faults"]

    @property
    def queries(self):
        """The protocol's state queries: name -> (help, arguments); each is also a method."""
        return {n: (q["help"], list(q["args"])) for n, q in self._queries.items()}

    def query(self, name, **args):
        """Runs a state query of the protocol by name (see :attr:`queries`)."""
        if name not in self._queries:
            raise ValueError(f"no query {name!r} in protocol {self.protocol} "
                             f"(queries: {', '.join(sorted(self._queries))})")
        return self._s.query(name, args)

    # ------------------------------------------------------------------ trace

    def _take_trace(self):
        if not self._trace_enabled:
            raise RuntimeError("this run keeps no trace: make it with trace=True (or trace=[event types])")
        self._trace_lines.extend(self._s.take_trace())
        return self._trace_lines

    def trace_lines(self):
        """Every event kept so far as a JSON line, exactly as ``clustersim run --trace`` writes them.
        Needs ``trace=True`` (or ``trace=[event types]``, which keeps only those)."""
        return list(self._take_trace())

    def trace_events(self):
        """Every event kept so far as a dict ({"t": ns, "ev": type, "node": name, ...fields})."""
        return [json.loads(line) for line in self._take_trace()]

    def trace_frame(self):
        """Every event kept so far as a pandas DataFrame: columns t, ev, node and the union of the
        events' fields (missing ones NaN)."""
        import pandas as pd
        return pd.DataFrame.from_records(self.trace_events())

    def trace(self):
        """Every event kept so far as a numpy structured array (one record per event, the fields of
        :meth:`trace_frame`)."""
        return self.trace_frame().to_records(index=False)

    # ------------------------------------------------------------------ actions as methods

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._queries:
            q = self._queries[name]

            def query(**args):
                return self.query(name, **args)

            query.__name__ = name
            query.__doc__ = f"{q['help']} (arguments: {', '.join(q['args']) or 'none'})"
            return query
        if name in self.actions:
            def action(target, **params):
                return self.act(name, target, **params)

            action.__name__ = name
            action.__doc__ = f"The {self.protocol} protocol's {name} action on TARGET (see the protocol's docs)."
            return action
        raise AttributeError(f"Simulation has no attribute {name!r} (protocol {self.protocol}'s actions: "
                             f"{', '.join(self.actions)}; queries: {', '.join(sorted(self._queries))})")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.actions) | set(self._queries))

    def __repr__(self):
        state = "finished" if self.finished else f"at {duration_text(self.now)}"
        return (f"<Simulation {self.name!r} protocol={self.protocol} seed={self.seed} {state} "
                f"of {duration_text(self.until)} hash={self.trace_hash}>")
