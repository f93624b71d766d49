"""iacp.receives: the backoff between an SQS message's receives, and its last receive."""

from iacp.receives import MAX_RETRY_DELAY_SECONDS, Attempt, retry_delay


def test_retries_wait_longer_each_time_up_to_fifteen_minutes():
    assert [retry_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(20, 30) == MAX_RETRY_DELAY_SECONDS == 900
    assert retry_delay(3, 0) == 0
    assert Attempt(receive_count=2, max_receives=3).delay_before_next(30) == 60
    assert Attempt(receive_count=3, max_receives=3).delay_before_next(30) == 0  # to the DLQ
