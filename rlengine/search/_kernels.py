"""Compiled select / expand / backup / re-root over a forest of struct-of-arrays trees.

A forest holds ``T`` trees of ``C`` node slots each; node ``n`` of tree ``t``
has the global index ``t * C + local`` and tree ``t`` owns slots
``[t * C, (t + 1) * C)``.  Per node (all arrays are flat ``[T * C]``):

``parent``       global index of the parent, ``NO_NODE`` for a root
``action``       the action that leads from the parent here (``NO_ACTION`` at a root)
``first_child``  global index of the first child, ``NOT_EXPANDED`` until expanded;
                 the children are the ``num_children`` consecutive slots from there
``prior``        P(parent, action)
``visits``       completed visits N
``value_sum``    W: sum of backed-up values **for the player who chose the action
                 into this node** (the player to move at the parent)
``value_sq``     sum of the squares of the backed-up values (the same for both sides): with N
                 and W the running variance of a node's values, for the lower confidence bound
``virtual``      visits in flight (virtual loss), undone by backup
``terminal``     1 when the evaluator said the node ends the game
``terminal_value`` the exact value there, for the player to move at the node

Per tree (``[T]``): ``root`` (global index) and ``used`` (slots taken).

Values flip sign per ply: a value ``v`` for the player to move at a leaf adds
``-v`` to the leaf's W (the opponent chose the move into it), ``+v`` to its
parent's W, and so on up to the root.  Selection at a node therefore takes
``Q(child) = W(child) / N(child)`` as it is: it is already the chooser's view.

PUCT (AlphaGo, Silver et al. 2016)::

    score(child) = Q(child) + c_puct * P(child) * sqrt(max(S, 1)) / (1 + N(child) + V(child))
    S = sum over the node's children of (N(child) + V(child))

``S`` is the parent's count of the descents that already went through it to a
child: its completed visits ``sum N(child)`` (AlphaGo's ``sum_b N_r(s, b)``)
plus the other descents still in flight below it (AlphaGo's virtual loss adds
those to ``N_r`` too).  The descent now choosing is not counted (its virtual
visit on the node itself, and the node's own evaluation as a leaf before it
was expanded, are not visits of a child), so a freshly expanded node gives
``S = 0``; ``max(S, 1)`` then lets the prior decide the first choice instead of
a tie.  Under virtual loss ``Q = (W - vl * V) / (N + V)``: each visit in
flight counts as a loss of ``vl`` for the chooser.  A child with no visits and
none in flight gets the first-play-urgency value (FPU): with ``FPU_PARENT`` the
parent's own mean value for the chooser (``-W(n) / N(n)``) reduced as Leela Zero
does, by ``fpu_reduction * sqrt(sum of the priors of the children visited or in
flight)`` (so no reduction while no child has been tried; ``fpu_reduction = 0``
is the plain parent value); with ``FPU_LOSS``, ``-1``.

The move to play (``final_child``) is the most visited child (``FINAL_VISITS``)
or, with ``FINAL_LCB`` (Leela Zero), the child with the highest lower confidence
bound ``Q - z * s / sqrt(N)`` (``s``: the sample standard deviation of its
backed-up values, from ``value_sq``) among the children with at least 2 visits
and at least ``min_fraction`` of the most visited child's visits.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_NODE = -1  # parent of a root; "no leaf"
NOT_EXPANDED = -1  # first_child of a leaf
NO_ACTION = -1  # action of a root
FPU_PARENT = 0  # unvisited child: the parent's value for the chooser, reduced (module docstring)
FPU_LOSS = 1  # unvisited child: a loss (-1)
FINAL_VISITS = 0  # the move played: the most visited child
FINAL_LCB = 1  # the move played: the highest lower confidence bound among the well-visited children


@njit(cache=True)
def clear_node(n, parent, action, first_child, num_children, prior, visits, value_sum, value_sq, virtual, terminal,
               terminal_value, par, act, p):
    parent[n] = par
    action[n] = act
    first_child[n] = NOT_EXPANDED
    num_children[n] = 0
    prior[n] = p
    visits[n] = 0
    value_sum[n] = 0.0
    value_sq[n] = 0.0
    virtual[n] = 0
    terminal[n] = 0
    terminal_value[n] = 0.0


@njit(cache=True, inline="always")
def _q_for_chooser(n, visits, value_sum, virtual, vl):
    """Q of node n for the player who chose it, virtual loss included (needs N + V > 0)."""
    return (value_sum[n] - vl * virtual[n]) / (visits[n] + virtual[n])


@njit(cache=True)
def select_child(n, first_child, num_children, prior, visits, value_sum, virtual, c_puct, fpu_mode,
                 fpu_reduction, vl):
    """The child slot of expanded node n with the highest PUCT score (ties: the lowest slot).

    The exploration term's parent count is the children's visits plus their visits in flight (see the
    module docstring), not ``visits[n] + virtual[n]``: that would count the node's own leaf evaluation
    and the current descent's virtual visit, giving sqrt(sum N + 2) at a root.
    """
    lo = first_child[n]
    hi = lo + num_children[n]
    s = 0
    tried_prior = 0.0  # the prior mass of the children visited or in flight
    for c in range(lo, hi):
        s += visits[c] + virtual[c]
        if visits[c] + virtual[c] > 0:
            tried_prior += prior[c]
    sqrt_n = np.sqrt(np.float64(max(s, 1)))
    if fpu_mode == FPU_LOSS or visits[n] == 0:
        fpu = -1.0
    else:
        # the node's own value for the player choosing among its children: W(n) is for the other side
        fpu = -value_sum[n] / visits[n] - fpu_reduction * np.sqrt(tried_prior)
    best = NO_NODE
    best_score = -np.inf
    for c in range(lo, hi):
        nc = visits[c] + virtual[c]
        q = fpu if nc == 0 else _q_for_chooser(c, visits, value_sum, virtual, vl)
        score = q + c_puct * prior[c] * sqrt_n / (1.0 + nc)
        if score > best_score:
            best_score = score
            best = c
    return best


@njit(cache=True)
def backup(leaf, value, parent, visits, value_sum, value_sq, virtual, undo_virtual):
    """Add one visit with ``value`` (for the player to move at ``leaf``) from leaf to root.

    With ``undo_virtual`` the virtual loss this path took on the way down is removed.
    """
    n = leaf
    v = -value  # the leaf's W is for the player who moved into it
    sq = value * value
    while n != NO_NODE:
        visits[n] += 1
        value_sum[n] += v
        value_sq[n] += sq
        if undo_virtual:
            virtual[n] -= 1
        v = -v
        n = parent[n]


@njit(cache=True)
def _undo_path(leaf, parent, virtual):
    n = leaf
    while n != NO_NODE:
        virtual[n] -= 1
        n = parent[n]


@njit(cache=True)
def select_leaves(root, active, want, parent, action, first_child, num_children, prior, visits, value_sum, value_sq,
                  virtual, terminal, terminal_value, c_puct, fpu_mode, fpu_reduction, vl, expand_threshold,
                  out_tree, out_leaf, out_paths, out_depth, out_need_priors, done):
    """Descend up to ``want[t]`` times in each active tree under virtual loss.

    Each descent ends at a node that is not expanded (written to the outputs,
    its path of actions from the root in ``out_paths``) or at a terminal node
    (backed up here at once with its exact value: ``done[t]`` counts those).
    A tree stops early when a descent reaches a leaf already waiting for
    evaluation (a collision); that leaf is evaluated once.  A leaf needs priors
    (it will be expanded) when this is at least its ``expand_threshold``-th visit;
    a root always does.  Returns the number of leaves written.
    """
    num_trees = root.shape[0]
    max_depth = out_paths.shape[1]
    k = 0
    for t in range(num_trees):
        done[t] = 0
        if not active[t]:
            continue
        for _ in range(want[t]):
            if k >= out_leaf.shape[0]:
                break
            n = root[t]
            depth = 0
            virtual[n] += 1
            while first_child[n] != NOT_EXPANDED and terminal[n] == 0 and num_children[n] > 0 and depth < max_depth:
                c = select_child(n, first_child, num_children, prior, visits, value_sum, virtual, c_puct, fpu_mode,
                                 fpu_reduction, vl)
                out_paths[k, depth] = action[c]
                depth += 1
                n = c
                virtual[n] += 1
            if terminal[n] != 0:
                backup(n, terminal_value[n], parent, visits, value_sum, value_sq, virtual, True)
                done[t] += 1
                continue
            if virtual[n] > 1 and first_child[n] == NOT_EXPANDED:
                _undo_path(n, parent, virtual)  # a collision: this leaf is already in the batch
                break
            out_tree[k] = t
            out_leaf[k] = n
            out_depth[k] = depth
            out_need_priors[k] = parent[n] == NO_NODE or visits[n] + 1 >= expand_threshold
            k += 1
    return k


@njit(cache=True)
def expand_and_backup(tree_of, leaves, need_priors, priors, legal, values, is_terminal, num, used, capacity,
                      parent, action, first_child, num_children, prior, visits, value_sum, value_sq, virtual,
                      terminal, terminal_value):
    """Expand the leaves that asked for priors (children for the legal actions, priors
    renormalised over them), mark terminal leaves, and back every leaf's value up.
    A leaf whose tree has no room left stays a leaf.  Returns how many could not expand."""
    full = 0
    for i in range(num):
        n = leaves[i]
        t = tree_of[i]
        if is_terminal[i]:
            terminal[n] = 1
            terminal_value[n] = values[i]
        elif need_priors[i] and first_child[n] == NOT_EXPANDED:
            k = 0
            total = 0.0
            for a in range(legal.shape[1]):
                if legal[i, a]:
                    k += 1
                    total += max(priors[i, a], 0.0)
            if k == 0:
                terminal[n] = 1  # no action at all: the evaluator's value is the final word
                terminal_value[n] = values[i]
            elif used[t] + k > capacity:
                full += 1
            else:
                lo = t * capacity + used[t]
                used[t] += k
                c = lo
                for a in range(legal.shape[1]):
                    if legal[i, a]:
                        p = max(priors[i, a], 0.0) / total if total > 0 else 1.0 / k
                        clear_node(c, parent, action, first_child, num_children, prior, visits, value_sum, value_sq,
                                   virtual, terminal, terminal_value, n, a, p)
                        c += 1
                first_child[n] = lo
                num_children[n] = k
        backup(n, values[i], parent, visits, value_sum, value_sq, virtual, True)
    return full


@njit(cache=True)
def reroot(t, new_root, capacity, root, used, parent, action, first_child, num_children, prior, visits, value_sum,
           value_sq, virtual, terminal, terminal_value):
    """Make ``new_root`` (a node of tree t) the root, keeping its subtree with all its
    statistics and compacting it to the front of the tree's slots (the rest is reclaimed).
    Returns the number of nodes kept."""
    base = t * capacity
    m = used[t]
    order = np.empty(m, np.int64)  # old global ids in breadth-first order
    new_id = np.full(m, -1, np.int64)  # old local -> new local
    order[0] = new_root
    new_id[new_root - base] = 0
    head = 0
    tail = 1
    while head < tail:  # children blocks stay contiguous: each block is appended whole
        n = order[head]
        head += 1
        if first_child[n] != NOT_EXPANDED:
            for c in range(first_child[n], first_child[n] + num_children[n]):
                new_id[c - base] = tail
                order[tail] = c
                tail += 1
    # gather into temporaries, then write back over the tree's front slots
    p_par = np.empty(tail, np.int32)
    p_act = np.empty(tail, np.int32)
    p_fc = np.empty(tail, np.int32)
    p_nc = np.empty(tail, np.int32)
    p_pr = np.empty(tail, np.float32)
    p_vis = np.empty(tail, np.int32)
    p_w = np.empty(tail, np.float64)
    p_sq = np.empty(tail, np.float64)
    p_term = np.empty(tail, np.int8)
    p_tv = np.empty(tail, np.float32)
    for j in range(tail):
        n = order[j]
        p_par[j] = NO_NODE if j == 0 else base + new_id[parent[n] - base]
        p_act[j] = NO_ACTION if j == 0 else action[n]
        p_fc[j] = NOT_EXPANDED if first_child[n] == NOT_EXPANDED else base + new_id[first_child[n] - base]
        p_nc[j] = num_children[n]
        p_pr[j] = prior[n]
        p_vis[j] = visits[n]
        p_w[j] = value_sum[n]
        p_sq[j] = value_sq[n]
        p_term[j] = terminal[n]
        p_tv[j] = terminal_value[n]
    for j in range(tail):
        g = base + j
        parent[g] = p_par[j]
        action[g] = p_act[j]
        first_child[g] = p_fc[j]
        num_children[g] = p_nc[j]
        prior[g] = p_pr[j]
        visits[g] = p_vis[j]
        value_sum[g] = p_w[j]
        value_sq[g] = p_sq[j]
        virtual[g] = 0
        terminal[g] = p_term[j]
        terminal_value[g] = p_tv[j]
    root[t] = base
    used[t] = tail
    return tail


@njit(cache=True)
def lower_confidence_bound(c, visits, value_sum, value_sq, z):
    """``Q - z * s / sqrt(N)`` of node c for the player who chose it (``s``: the sample standard deviation
    of its backed-up values); ``-inf`` below 2 visits, where ``s`` is not defined."""
    n = visits[c]
    if n < 2:
        return -np.inf
    mean = value_sum[c] / n
    var = max(value_sq[c] / n - mean * mean, 0.0) * n / (n - 1)
    return mean - z * np.sqrt(var / n)


@njit(cache=True)
def final_child(n, first_child, num_children, visits, value_sum, value_sq, rule, lcb_z, lcb_min_fraction):
    """The child slot of node n to play (``NO_NODE`` when n is not expanded or no child has a visit).

    ``FINAL_VISITS``: the most visited child (ties: the lowest slot).  ``FINAL_LCB``: among the children
    with at least 2 visits and at least ``lcb_min_fraction`` of the most visited child's visits, the one
    with the highest ``lower_confidence_bound`` (ties: the lowest slot); the most visited child when no
    child qualifies.
    """
    if first_child[n] == NOT_EXPANDED:
        return NO_NODE
    lo = first_child[n]
    hi = lo + num_children[n]
    most = NO_NODE
    for c in range(lo, hi):
        if visits[c] > 0 and (most == NO_NODE or visits[c] > visits[most]):
            most = c
    if most == NO_NODE or rule == FINAL_VISITS:
        return most
    floor = max(2.0, lcb_min_fraction * visits[most])
    best = NO_NODE
    best_lcb = -np.inf
    for c in range(lo, hi):
        if visits[c] >= floor:
            b = lower_confidence_bound(c, visits, value_sum, value_sq, lcb_z)
            if best == NO_NODE or b > best_lcb:
                best_lcb = b
                best = c
    return most if best == NO_NODE else best
