"""gunicorn's configuration for kartra_mirror: ``gunicorn kartra_mirror.wsgi`` from this
directory reads it (the Procfile's ``web`` process). Each value can be overridden by the
environment variable named beside it, or on gunicorn's command line.

Threads, not processes, carry the concurrency: a webhook request spends most of its time
waiting for the network or the database, and a client that sends its body slowly holds one
thread of many (for at most ``KARTRA_WEBHOOK_READ_TIMEOUT`` seconds), not a whole worker.
"""

import multiprocessing
import os

from kartra_mirror.logs import logging_config

# Listen on $PORT (the process manager's convention) unless GUNICORN_BIND says otherwise.
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# One worker process per core, each with a pool of threads (WEB_CONCURRENCY is the common
# name hosting platforms set for the process count).
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# A worker that does not report for this long is restarted; a request should never take
# it (webhooks are stored and answered in milliseconds, API pages are bounded).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then, staggered, so a slow leak never grows without bound.
max_requests = 20000
max_requests_jitter = 2000

# gunicorn 25.1+ opens a control socket, by default at one path for every gunicorn of the
# user (~/.gunicorn/); the mirror does not use it, and two deployments would share it.
control_socket_disable = True

# Only these addresses may set X-Forwarded-For and X-Forwarded-Proto (a TLS proxy on the
# same host by default); see DJANGO_BEHIND_TLS_PROXY and KARTRA_TRUSTED_PROXY_COUNT.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access and error lines go through the project's logging: plain or JSON
# (DJANGO_LOG_FORMAT), with webhook tokens and emails redacted.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
logconfig_dict = logging_config(
    log_format=os.environ.get("DJANGO_LOG_FORMAT", "plain"),
    level=os.environ.get("DJANGO_LOG_LEVEL", "INFO"),
)
