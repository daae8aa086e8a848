"""Open-file limit: 1000 sockets need more descriptors than some shells allow."""

import resource

WANTED = 8192


def raise_open_files(wanted: int = WANTED) -> int:
    """Raise the soft ``RLIMIT_NOFILE`` towards ``wanted`` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft
