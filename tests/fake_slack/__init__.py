from tests.fake_slack.records import Call, Message, Response, Upload
from tests.fake_slack.server import FakeSlack, fake_slack

__all__ = ["Call", "FakeSlack", "Message", "Response", "Upload", "fake_slack"]
