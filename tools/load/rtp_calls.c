/* RTP for call load tests: both ends of many bridged calls, paced at 20 ms per stream.
 *
 *   rtp_calls A_PORT A_DESTS A_PAYLOADS B_PORT B_DESTS B_PAYLOADS DURATION_S
 *
 * A_DESTS and B_DESTS hold one server RTP port per line: the A legs' streams (which the
 * generator feeds from its A socket, bound to A_PORT, the port the A side's SDP named) and the
 * B legs' (fed from B_PORT). Every stream gets one packet every 20 ms, with its own SSRC,
 * sequence number and timestamp, at its own phase within the 20 ms (PHASES groups). Each
 * side's packets carry the frames of its PAYLOADS file in turn (stream i starting at frame
 * i, so the streams are not in step): a 2-byte payload type and a
 * 2-byte timestamp step (160 for PCMU, 960 for Opus), then <2-byte length><payload> records,
 * all big-endian (pre-encoded audio, written by the load test).
 *
 * Whatever comes back on either socket is grouped by source port (one server stream each) and
 * scored as RFC 3550 A.3 loss and A.8 interarrival jitter, with the clock rate of the payload
 * type (0: 8000, 111: 48000). Prints one summary line per side:
 *   side=A streams=N sent=S received=R lost=L loss_pct=P jitter_ms_mean=M jitter_ms_p95=Q
 *   jitter_ms_max=X late_send_ms_max=Y
 * late_send_ms_max is how far behind its schedule the generator itself fell.
 * Only libc; built by the load test with the system C compiler.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../loopback_udp.h"

#define MAX_STREAMS 8192
#define MAX_FRAMES 512
#define SOCKET_BUFFER_BYTES (8 * 1024 * 1024)
#define BATCH 64
#define PACKET_INTERVAL 0.020
/* Streams are sent in PHASES groups spread over the 20 ms, each stream at a fixed phase, as
 * independent calls are: a burst of every stream at the same instant would measure how long
 * the server takes to get through the burst, not the delay a packet sees. */
#define PHASES 10

typedef struct {
    int port; /* server port the packets come from */
    int initialised;
    uint16_t max_sequence;
    uint32_t cycles, base_sequence, received;
    double transit, jitter; /* A.8, in timestamp units */
    int clock_rate;
} Receiver;

typedef struct {
    struct sockaddr_in destination;
    uint16_t sequence;
    uint32_t timestamp, ssrc;
} Sender;

typedef struct {
    int fd;
    int count;
    Sender senders[MAX_STREAMS];
    Receiver receivers[MAX_STREAMS];
    int receiver_count;
    long sent;
} Side;

typedef struct {
    int payload_type, timestamp_step, count;
    int lengths[MAX_FRAMES];
    unsigned char data[MAX_FRAMES][1500];
} Frames;

static void read_destinations(const char *path, Side *side, uint32_t ssrc_base) {
    FILE *file = fopen(path, "r");
    int port;
    if (file == NULL) {
        perror(path);
        exit(1);
    }
    while (side->count < MAX_STREAMS && fscanf(file, "%d", &port) == 1) {
        Sender *s = &side->senders[side->count];
        s->destination.sin_family = AF_INET;
        s->destination.sin_port = htons(port);
        inet_pton(AF_INET, "127.0.0.1", &s->destination.sin_addr);
        s->sequence = (uint16_t)rand();
        s->timestamp = (uint32_t)rand();
        s->ssrc = ssrc_base + side->count;
        side->count++;
    }
    fclose(file);
}

static int read_u16(FILE *file) {
    unsigned char octets[2];
    return fread(octets, 1, 2, file) == 2 ? octets[0] << 8 | octets[1] : -1;
}

static void read_frames(const char *path, Frames *frames) {
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        exit(1);
    }
    frames->payload_type = read_u16(file);
    frames->timestamp_step = read_u16(file);
    int size;
    while (frames->count < MAX_FRAMES && (size = read_u16(file)) >= 0) {
        if (size > 1500 || fread(frames->data[frames->count], 1, size, file) != (size_t)size)
            break;
        frames->lengths[frames->count++] = size;
    }
    fclose(file);
    if (frames->payload_type < 0 || frames->count == 0) {
        fprintf(stderr, "%s: no frames\n", path);
        exit(1);
    }
}

static Receiver *receiver_for(Side *side, int port) {
    for (int i = 0; i < side->receiver_count; i++)
        if (side->receivers[i].port == port)
            return &side->receivers[i];
    if (side->receiver_count == MAX_STREAMS)
        return NULL;
    Receiver *r = &side->receivers[side->receiver_count++];
    memset(r, 0, sizeof *r);
    r->port = port;
    return r;
}

/* RFC 3550 A.1 (simplified: no probation) and A.8. */
static void score(Receiver *r, const unsigned char *p, double arrival) {
    uint16_t sequence = (uint16_t)(p[2] << 8 | p[3]);
    uint32_t timestamp = (uint32_t)p[4] << 24 | p[5] << 16 | p[6] << 8 | p[7];
    int payload_type = p[1] & 0x7F;
    if (!r->initialised) {
        r->initialised = 1;
        r->base_sequence = sequence;
        r->max_sequence = sequence;
        r->clock_rate = payload_type == 111 ? 48000 : 8000;
    } else {
        uint16_t delta = (uint16_t)(sequence - r->max_sequence);
        if (delta < 3000) {
            if (sequence < r->max_sequence)
                r->cycles += 65536;
            r->max_sequence = sequence;
        }
    }
    r->received++;
    double transit = arrival * r->clock_rate - timestamp;
    if (r->received > 1) {
        double d = fabs(transit - r->transit);
        if (d < r->clock_rate) /* ignore timestamp jumps (a new talkspurt after a tap) */
            r->jitter += (d - r->jitter) / 16.0;
    }
    r->transit = transit;
}

static void drain(Side *side) {
    static unsigned char buffers[BATCH][2048];
    static struct sockaddr_in sources[BATCH];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_base = buffers[i];
            vectors[i].iov_len = sizeof buffers[i];
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
            messages[i].msg_hdr.msg_name = &sources[i];
            messages[i].msg_hdr.msg_namelen = sizeof sources[i];
        }
        int count = recvmmsg(side->fd, messages, BATCH, MSG_DONTWAIT, NULL);
        if (count <= 0)
            return;
        double arrival = now_seconds();
        for (int i = 0; i < count; i++) {
            if (messages[i].msg_len < 12 || (buffers[i][0] & 0xC0) != 0x80)
                continue;
            if ((buffers[i][1] & 0x7F) >= 72 && (buffers[i][1] & 0x7F) <= 76)
                continue; /* RTCP on a muxed port */
            Receiver *r = receiver_for(side, ntohs(sources[i].sin_port));
            if (r != NULL)
                score(r, buffers[i], arrival);
        }
    }
}

static void send_phase(Side *side, const Frames *frames, long round, int phase) {
    static unsigned char packets[BATCH][1600];
    struct mmsghdr messages[BATCH];
    struct iovec vectors[BATCH];
    int begin = side->count * phase / PHASES, end = side->count * (phase + 1) / PHASES;
    for (int first = begin; first < end; first += BATCH) {
        int count = end - first < BATCH ? end - first : BATCH;
        for (int i = 0; i < count; i++) {
            Sender *s = &side->senders[first + i];
            unsigned char *p = packets[i];
            /* Each stream at its own place in the frames, so what the frames hold (a DTMF
             * tone, a loud syllable) reaches the server spread over time, as from
             * independent callers, not on every stream in the same round. */
            int frame = (int)((round + first + i) % frames->count);
            int length;
            p[0] = 0x80;
            p[1] = (unsigned char)frames->payload_type;
            memcpy(p + 12, frames->data[frame], frames->lengths[frame]);
            length = 12 + frames->lengths[frame];
            uint16_t sequence = htons(s->sequence++);
            uint32_t timestamp = htonl(s->timestamp), ssrc = htonl(s->ssrc);
            s->timestamp += frames->timestamp_step;
            memcpy(p + 2, &sequence, 2);
            memcpy(p + 4, &timestamp, 4);
            memcpy(p + 8, &ssrc, 4);
            vectors[i].iov_base = p;
            vectors[i].iov_len = length;
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
            messages[i].msg_hdr.msg_name = &s->destination;
            messages[i].msg_hdr.msg_namelen = sizeof s->destination;
        }
        int done = sendmmsg(side->fd, messages, count, 0);
        if (done > 0)
            side->sent += done;
    }
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *name, Side *side, double late_max) {
    static double jitters[MAX_STREAMS];
    long received = 0, expected = 0;
    double sum = 0;
    for (int i = 0; i < side->receiver_count; i++) {
        Receiver *r = &side->receivers[i];
        received += r->received;
        expected += (long)(r->cycles + r->max_sequence) - r->base_sequence + 1;
        jitters[i] = 1000.0 * r->jitter / r->clock_rate;
        sum += jitters[i];
    }
    qsort(jitters, side->receiver_count, sizeof jitters[0], compare);
    int n = side->receiver_count;
    long lost = expected - received;
    printf("side=%s streams=%d sent=%ld received=%ld lost=%ld loss_pct=%.4f "
           "jitter_ms_mean=%.3f jitter_ms_p95=%.3f jitter_ms_max=%.3f late_send_ms_max=%.1f\n",
           name, n, side->sent, received, lost < 0 ? 0 : lost,
           expected ? 100.0 * (lost < 0 ? 0 : lost) / expected : 100.0, n ? sum / n : 0.0,
           n ? jitters[(int)(0.95 * (n - 1))] : 0.0, n ? jitters[n - 1] : 0.0, late_max);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s A_PORT A_DESTS A_PAYLOADS B_PORT B_DESTS B_PAYLOADS "
                        "DURATION_S\n", argv[0]);
        return 2;
    }
    static Side a, b;
    static Frames a_frames, b_frames;
    srand((unsigned)time(NULL));
    a.fd = open_socket(atoi(argv[1]), SOCKET_BUFFER_BYTES);
    read_destinations(argv[2], &a, 0x1000000u);
    read_frames(argv[3], &a_frames);
    b.fd = open_socket(atoi(argv[4]), SOCKET_BUFFER_BYTES);
    read_destinations(argv[5], &b, 0x2000000u);
    read_frames(argv[6], &b_frames);
    double duration = atof(argv[7]), start = now_seconds(), late_max = 0;
    long slots = (long)(duration / PACKET_INTERVAL) * PHASES;
    for (long slot = 0; slot < slots; slot++) {
        long round = slot / PHASES;
        int phase = (int)(slot % PHASES);
        double due = start + slot * PACKET_INTERVAL / PHASES;
        for (double now = now_seconds(); now < due; now = now_seconds()) {
            drain(&a);
            drain(&b);
            if (due - now > 0.0015)
                usleep(500);
        }
        double late = 1000.0 * (now_seconds() - due);
        if (late > late_max)
            late_max = late;
        send_phase(&a, &a_frames, round, phase);
        send_phase(&b, &b_frames, round, phase);
    }
    double settle = now_seconds() + 0.5;
    while (now_seconds() < settle) {
        drain(&a);
        drain(&b);
        usleep(1000);
    }
    report("A", &a, late_max);
    report("B", &b, late_max);
    return 0;
}
