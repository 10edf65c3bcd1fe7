"""Epochs (chat/backend/ids.py): the shape every parser accepts, different for every life of a history,
including in a process forked after the generator was seeded."""

from __future__ import annotations

import os
import re

from chat.backend.ids import make_id, new_epoch, parse_sequence_id


def test_epochs_have_the_issued_shape_and_do_not_repeat() -> None:
    epochs = [new_epoch() for _ in range(2000)]
    assert all(re.fullmatch("[0-9a-f]{8}", epoch) for epoch in epochs)
    assert len(set(epochs)) >= 1999  # 32 random bits: one repeat in 2,000 is already a 1-in-2,000 event
    assert parse_sequence_id(make_id(epochs[0], "7")) == (epochs[0], 7)


def test_a_forked_process_draws_other_epochs_than_its_parent() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next epochs, to the parent, then out without running pytest's exit
        os.write(write, " ".join(new_epoch() for _ in range(8)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = pipe.read().split()
    os.waitpid(child, 0)
    parents = [new_epoch() for _ in range(8)]
    assert len(childs) == 8 and not set(childs) & set(parents)
