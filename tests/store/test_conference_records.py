from mediaserver.store.conference_records import (
    ConferenceRecord,
    MemberRecord,
    SqliteConferenceRecords,
)
from mediaserver.store.database import open_database


def test_rooms_come_back_newest_first_with_their_members_in_join_order() -> None:
    records = SqliteConferenceRecords(open_database(":memory:"))
    first = ConferenceRecord("uuid-1", "standup", 100.0, 160.0, (
        MemberRecord("2", "call-b", "bob", "room", 110.0, 150.0, "kicked"),
        MemberRecord("1", "call-a", "alice", "room", 101.0, 160.0, "room ended"),
    ))  # fmt: skip
    records.write(first)
    records.write(ConferenceRecord("uuid-2", "empty", 200.0, 201.0))
    newest, oldest = records.recent()
    assert newest == ConferenceRecord("uuid-2", "empty", 200.0, 201.0)
    assert [m.member_id for m in oldest.members] == ["1", "2"]
    assert oldest.members[1] == first.members[0]
    assert records.recent(limit=1) == [newest]
