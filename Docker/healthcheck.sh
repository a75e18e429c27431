#!/bin/bash
# The image's HEALTHCHECK: exits 0 when taskd in this container answers GET /health/ready with
# 200. Plain bash (/dev/tcp), so the image needs no curl.
exec 3<>"/dev/tcp/127.0.0.1/${TASKD_PORT:-8080}" || exit 1
printf 'GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
read -r -t 3 _ status _ <&3 || exit 1
[ "$status" = 200 ]
