/* What the C load generators (tools/bench/rtp_load.c, tools/load/rtp_calls.c) share: a
 * monotonic clock in seconds and a UDP socket bound on 127.0.0.1 with large buffers, so a
 * burst of packets is not lost in the generator itself. Header-only: each generator is one
 * compiler call. */
#ifndef LOOPBACK_UDP_H
#define LOOPBACK_UDP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_socket(int port, int buffer_bytes) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &local.sin_addr);
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

#endif
