"""Never prints ready: the adapter must give up after ready_timeout, not hang."""

import time

time.sleep(60)
