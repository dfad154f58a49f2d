"""RETR of one message to standard output, the way poplib does it, for the benchmark."""

import poplib
import sys

from common import connect, password

user, passwd, number = sys.argv[2], password(), sys.argv[3]
p = connect()
try:
    p.user(user)
    p.pass_(passwd)
    response, lines, octets = p.retr(number)
    out = sys.stdout.buffer
    for line in lines:
        out.write(line + b'\n')
finally:
    p.quit()
