from events import Journal, MemoryJournal
from tests.contracts.journal import JournalContract


class TestMemoryJournal(JournalContract):
    def create_journal(self) -> Journal:
        return MemoryJournal()
