/*
 * rrload: a closed-loop request/response load client for the upsd benchmark.
 *
 *   rrload PORT CONNS DEPTH SECONDS REQUEST
 *
 * Opens CONNS connections to 127.0.0.1:PORT.  Each keeps DEPTH copies of
 * REQUEST (a line, "\n" appended) in flight: whenever DEPTH answer lines have
 * come back it sends DEPTH more.  After SECONDS it prints one JSON line:
 * {"answers": N, "seconds": S, "rps": R, "errors": E}.
 *
 * Written for nutwist's benchmarks: compiled so that the load client is never
 * the bottleneck, which a Python client is against NUT's C upsd.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int pending; /* answers still owed for the current batch */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: rrload PORT CONNS DEPTH SECONDS REQUEST\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[2]), depth = atoi(argv[3]);
	double seconds = atof(argv[4]);
	size_t rlen = strlen(argv[5]) + 1;
	char *batch = malloc(rlen * (size_t)depth);
	for (int i = 0; i < depth; i++) {
		memcpy(batch + i * rlen, argv[5], rlen - 1);
		batch[i * rlen + rlen - 1] = '\n';
	}
	size_t blen = rlen * (size_t)depth;

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	int ep = epoll_create1(0);
	struct conn *conns = calloc((size_t)nconn, sizeof *conns);
	for (int i = 0; i < nconn; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			perror("connect");
			return 1;
		}
		conns[i].fd = fd;
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		usleep(2000); /* NUT's upsd listens with a backlog of 16 */
	}
	for (int i = 0; i < nconn; i++) {
		conns[i].pending = depth;
		send_all(conns[i].fd, batch, blen);
	}
	long answers = 0, errors = 0;
	char buf[65536];
	struct epoll_event evs[256];
	double start = now(), end = start + seconds;
	while (now() < end) {
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct conn *c = &conns[evs[k].data.u32];
			ssize_t got = recv(c->fd, buf, sizeof buf, 0);
			if (got <= 0) {
				errors++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				continue;
			}
			for (ssize_t j = 0; j < got; j++) {
				if (buf[j] == '\n') {
					answers++;
					if (--c->pending == 0) {
						c->pending = depth;
						if (send_all(c->fd, batch, blen) < 0)
							errors++;
					}
				}
			}
		}
	}
	double took = now() - start;
	printf("{\"answers\": %ld, \"seconds\": %.3f, \"rps\": %.1f, \"errors\": %ld}\n", answers,
	       took, answers / took, errors);
	return 0;
}
