/* Paced RTP load generator for tools/bench/relay.py.
 *
 * Sends 172-byte RTP packets (12-byte header + 160 bytes of PCMU) round-robin to N
 * destination ports on 127.0.0.1 at a fixed total rate, from one socket, for a fixed time,
 * and counts the packets that come back on a second socket (the relay's far side).
 * Each destination is its own stream: own SSRC, sequence number and timestamp. A run is a
 * new sender whose sequence numbers start at 0 again, so its SSRCs are new too (taken from
 * the process id): a receiver doing RFC 3550 A.1's checks drops the first packet of a
 * sequence that jumps back under the same SSRC, and would count that as the relay's loss.
 *
 *   rtp_load PORTS_FILE RATE_PPS DURATION_S RECV_PORT SEND_PORT
 *
 * SEND_PORT stays the same from run to run, so relays that latch onto the first source they
 * see (symmetric RTP) keep accepting the stream.
 * PORTS_FILE holds one destination port per line. Prints "sent N received M".
 * Built by the benchmark with the system C compiler; no dependencies beyond libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../loopback_udp.h"

#define PACKET_SIZE 172
#define SOCKET_BUFFER_BYTES (4 * 1024 * 1024)
#define BATCH 32
#define MAX_STREAMS 8192

static long drain(int fd) {
    static char buffers[BATCH][2048];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    long received = 0;
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_base = buffers[i];
            vectors[i].iov_len = sizeof buffers[i];
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        int count = recvmmsg(fd, messages, BATCH, MSG_DONTWAIT, NULL);
        if (count <= 0)
            return received;
        received += count;
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s PORTS_FILE RATE_PPS DURATION_S RECV_PORT SEND_PORT\n", argv[0]);
        return 2;
    }
    static struct sockaddr_in destinations[MAX_STREAMS];
    static uint16_t sequence[MAX_STREAMS];
    static uint32_t timestamp[MAX_STREAMS];
    uint32_t ssrc_base = (uint32_t)getpid() << 16;
    int streams = 0, port;
    FILE *ports = fopen(argv[1], "r");
    if (ports == NULL) {
        perror("ports file");
        return 1;
    }
    while (streams < MAX_STREAMS && fscanf(ports, "%d", &port) == 1) {
        destinations[streams].sin_family = AF_INET;
        destinations[streams].sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &destinations[streams].sin_addr);
        streams++;
    }
    fclose(ports);
    double rate = atof(argv[2]), duration = atof(argv[3]);
    int sender = open_socket(atoi(argv[5]), SOCKET_BUFFER_BYTES);
    int receiver = open_socket(atoi(argv[4]), SOCKET_BUFFER_BYTES);

    static char packets[BATCH][PACKET_SIZE];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    long sent = 0, received = 0, total = (long)(rate * duration);
    int next_stream = 0;
    double start = now_seconds();
    while (sent < total) {
        long due = (long)((now_seconds() - start) * rate);
        if (due > total)
            due = total;
        while (sent < due) {
            int count = due - sent < BATCH ? (int)(due - sent) : BATCH;
            for (int i = 0; i < count; i++) {
                int s = next_stream;
                next_stream = (next_stream + 1) % streams;
                char *p = packets[i];
                memset(p, 0xFF, PACKET_SIZE); /* u-law silence */
                p[0] = (char)0x80;
                p[1] = 0; /* PCMU */
                uint16_t seq = htons(sequence[s]++);
                uint32_t ts = htonl(timestamp[s]);
                uint32_t ssrc = htonl(ssrc_base + (uint32_t)s);
                timestamp[s] += 160;
                memcpy(p + 2, &seq, 2);
                memcpy(p + 4, &ts, 4);
                memcpy(p + 8, &ssrc, 4);
                vectors[i].iov_base = p;
                vectors[i].iov_len = PACKET_SIZE;
                memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
                messages[i].msg_hdr.msg_iov = &vectors[i];
                messages[i].msg_hdr.msg_iovlen = 1;
                messages[i].msg_hdr.msg_name = &destinations[s];
                messages[i].msg_hdr.msg_namelen = sizeof destinations[s];
            }
            int done = sendmmsg(sender, messages, count, 0);
            if (done < 0 && errno != EAGAIN && errno != ENOBUFS) {
                perror("sendmmsg");
                return 1;
            }
            if (done > 0)
                sent += done;
        }
        received += drain(receiver);
    }
    double settle = now_seconds() + 0.3;
    while (now_seconds() < settle) {
        received += drain(receiver);
        usleep(1000);
    }
    printf("sent %ld received %ld\n", sent, received);
    return 0;
}
