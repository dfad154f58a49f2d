"""Shared by the benchmark's Python scripts: what the book's scripts do, with the host's
port and the playground's CA taken from the command line and the environment."""

import os
import poplib
import ssl
import sys


def connect():
    """`poplib.POP3_SSL(hostname)` as in the book, trusting POP3_CA_FILE."""
    if len(sys.argv) < 3:
        print('usage: %s host:port user [...]' % sys.argv[0])
        sys.exit(2)
    host, port = sys.argv[1].rsplit(':', 1)
    context = ssl.create_default_context(cafile=os.environ['POP3_CA_FILE'])
    return poplib.POP3_SSL(host, int(port), context=context)


def password():
    """The book's getpass, reading the password from the pipe the benchmark feeds."""
    return sys.stdin.readline().rstrip('\n')
