"""``python -m examples.runtask_service --port 8080 --hmac-key-env RUNTASK_HMAC_KEY``

The HMAC key comes from an environment variable, never from the command line: a command
line is visible to every user of the machine (``ps``).
"""

import argparse
import logging
import os
import signal
from collections.abc import Sequence

from examples.runtask_service.server import RunTaskService

logger = logging.getLogger("examples.runtask_service")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.runtask_service",
        description="A run-task service that fails any plan destroying a resource.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--hmac-key-env",
        metavar="NAME",
        help="environment variable holding the run task's HMAC key (without one, "
        "requests are not authenticated)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    key = None
    if args.hmac_key_env:
        key = os.environ.get(args.hmac_key_env)
        if not key:
            parser.error(f"the environment variable {args.hmac_key_env} is not set or empty")
    else:
        logger.warning("No HMAC key: accepting requests from anyone. Set one for real use.")

    # Stop on Ctrl-C, or on SIGTERM (how a container is stopped), letting checks under way
    # end. Blocked before any thread starts (threads inherit it), the signals wait for
    # sigwait in this thread.
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    with RunTaskService(key, host=args.host, port=args.port) as service:
        logger.info("Listening on %s", service.url)
        received = signal.sigwait(stop_signals)
        logger.info("Stopping (%s)", signal.Signals(received).name)


if __name__ == "__main__":
    main()
