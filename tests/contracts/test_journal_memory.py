from events import Journal, MemoryJournal
from events.base import Event
from tests.contracts.journal import AppendOnCommit, HeldAppend, JournalContract


class TestMemoryJournal(JournalContract):
    def create_journal(self) -> Journal:
        return MemoryJournal()

    def hold_append(self, journal: Journal, stream_id: str, events: list[Event]) -> HeldAppend:
        return AppendOnCommit(journal, stream_id, events)  # one lock, no transaction to hold
