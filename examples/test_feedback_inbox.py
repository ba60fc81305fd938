"""The inbox consumer against the real broker the plugin started."""

from __future__ import annotations

from feedback_inbox import read_inbox


def test_the_seeded_feedback_is_in_the_inbox(mockseed_kafka, seeded_org):
    inbox = read_inbox(mockseed_kafka.bootstrap_servers)

    wind = seeded_org.project("Wind")
    assert any(
        item.project_id == wind.id and item.message == " test test   " for item in inbox
    )


def test_new_feedback_arrives(mockseed_kafka, mock_feedback):
    inbox = read_inbox(mockseed_kafka.bootstrap_servers)

    sent = mock_feedback.occurrence
    [item] = [i for i in inbox if i.occurrence_id == sent["id"]]
    assert (item.project_id, item.contact_email) == (
        sent["project_id"],
        "josh.ferge@sentry.io",
    )
