/*
 * fastsend: replays a classic pcap's frames out of an interface as fast as it can (or at a given rate), with
 * sendmmsg on an AF_PACKET socket, 256 frames per system call. bench/live.mjs uses it because tcpreplay, one
 * frame per write(), tops out near 0.37 M packets/s on a veth here, below what the live benchmark must push.
 * Not part of the sensor; built on first use by bench/live.mjs (cc -O2).
 *
 *   fastsend IFACE FILE.pcap LOOPS PPS      (PPS 0 = top speed)
 * Prints tcpreplay-style lines the benchmark parses: "Actual: N packets ..." and "Failed packets: F".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 256

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint32_t rd32(const unsigned char *p, int swap) {
  uint32_t v;
  memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: fastsend IFACE FILE.pcap LOOPS PPS\n");
    return 2;
  }
  const char *iface = argv[1];
  long loops = atol(argv[3]);
  double pps = atof(argv[4]);

  FILE *f = fopen(argv[2], "rb");
  if (!f) {
    perror(argv[2]);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)size);
  if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size || size < 24) {
    fprintf(stderr, "%s: cannot read\n", argv[2]);
    return 1;
  }
  fclose(f);
  uint32_t magic;
  memcpy(&magic, buf, 4);
  int swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
    fprintf(stderr, "%s: not a classic pcap file\n", argv[2]);
    return 1;
  }

  /* Index the frames. */
  size_t n = 0, cap = 1024;
  struct iovec *frames = malloc(cap * sizeof *frames);
  for (long off = 24; off + 16 <= size;) {
    uint32_t caplen = rd32(buf + off + 8, swap);
    if (off + 16 + (long)caplen > size) break;
    if (n == cap) frames = realloc(frames, (cap *= 2) * sizeof *frames);
    frames[n].iov_base = buf + off + 16;
    frames[n].iov_len = caplen;
    n++;
    off += 16 + (long)caplen;
  }
  if (n == 0) {
    fprintf(stderr, "%s: no packets\n", argv[2]);
    return 1;
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("socket(AF_PACKET)");
    return 1;
  }
  struct sockaddr_ll sll = {0};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)if_nametoindex(iface);
  if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
    perror(iface);
    return 1;
  }

  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  unsigned long long sent = 0, failed = 0, total = (unsigned long long)n * (unsigned long long)loops;
  double t0 = now();
  size_t i = 0;
  while (sent + failed < total) {
    int k = 0;
    while (k < BATCH && sent + failed + (unsigned long long)k < total) {
      msgs[k].msg_hdr.msg_iov = &frames[i];
      msgs[k].msg_hdr.msg_iovlen = 1;
      i = (i + 1) % n;
      k++;
    }
    if (pps > 0) {
      double due = t0 + (double)(sent + failed) / pps;
      while (now() < due) {
      }
    }
    int done = 0;
    while (done < k) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(k - done), 0);
      if (r < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue;
        failed += (unsigned long long)(k - done); /* e.g. a frame larger than the MTU */
        break;
      }
      done += r;
    }
    sent += (unsigned long long)done;
  }
  double secs = now() - t0;
  printf("Actual: %llu packets sent in %.3f seconds\nRated: %.1f pps\nFailed packets: %llu\n", sent, secs,
         secs > 0 ? (double)sent / secs : 0.0, failed);
  return 0;
}
