"""An SQS message's receives: which one this is, whether it is the last before the queue
dead-letters it, and how long to wait before the next (a delay that doubles with each
receive). The notification and VCS feedback functions retry their deliveries so."""

from dataclasses import dataclass

MAX_RETRY_DELAY_SECONDS = 900


def retry_delay(receive_count: int, first_delay_seconds: int) -> int:
    """Seconds until the message's next attempt: the first delay, doubled with each receive."""
    return int(min(first_delay_seconds * 2 ** (receive_count - 1), MAX_RETRY_DELAY_SECONDS))


@dataclass(frozen=True)
class Attempt:
    receive_count: int  # SQS's ApproximateReceiveCount of the message
    max_receives: int  # the queue's maxReceiveCount: after this, the dead-letter queue

    @property
    def last(self) -> bool:
        return self.receive_count >= self.max_receives

    def delay_before_next(self, first_delay_seconds: int) -> int:
        """None left after the last: the next receive dead-letters the message at once."""
        return 0 if self.last else retry_delay(self.receive_count, first_delay_seconds)
