//go:build cgo

/*
 * Join existing namespaces before the Go runtime starts (see doc.go).
 *
 * setns(2) refuses a multi-threaded caller for a user namespace ("EINVAL: the
 * caller is multithreaded and tried to join a new user namespace") and for a
 * time namespace, and a Go program has several threads before main. A C
 * constructor runs before the Go runtime, while the process has one thread.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_NS 8
#define NEW_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP)

static const struct { const char *name; int flag; } ns_types[] = {
	{"user", CLONE_NEWUSER}, {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
	{"mnt", CLONE_NEWNS}, {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

static int sync_fd = -1;

/* write_all writes all of buf, retrying on EINTR and short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * fail reports `{"type":"error","error":"<msg>[: <strerror(err)>]","exitCode":125}`
 * on the sync fd and stderr, then exits 125 without running Go or atexit code.
 */
static void __attribute__((noreturn, format(printf, 2, 3))) fail(int err, const char *fmt, ...)
{
	char msg[1024], line[sizeof msg * 6 + 64];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (err != 0 && n >= 0 && (size_t)n + 3 < sizeof msg) {
		snprintf(msg + n, sizeof msg - n, ": %s", strerror(err));
		msg[n + 2] = tolower((unsigned char)msg[n + 2]); /* Go's errno texts are lowercase */
	}
	size_t o = (size_t)snprintf(line, sizeof line, "{\"type\":\"error\",\"error\":\"");
	for (const char *p = msg; *p; p++) { /* JSON string escaping; paths may hold anything */
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(line + o, sizeof line - o, "\\%c", c);
		else if (c < 0x20)
			o += (size_t)snprintf(line + o, sizeof line - o, "\\u%04x", c);
		else
			line[o++] = (char)c;
	}
	o += (size_t)snprintf(line + o, sizeof line - o, "\",\"exitCode\":125}\n");
	if (sync_fd >= 0)
		write_all(sync_fd, line, o);
	write_all(STDERR_FILENO, line, o);
	_exit(125);
}

/* become_root makes us uid/gid 0 of the user namespace just joined (user_namespaces(7)). */
static void become_root(void)
{
	if (setresgid(0, 0, 0) < 0)
		fail(errno, "setting gid 0 in the joined user namespace");
	/* EPERM when /proc/<pid>/setgroups of the namespace says "deny"; there are none to drop then. */
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		fail(errno, "dropping supplementary groups in the joined user namespace");
	if (setresuid(0, 0, 0) < 0)
		fail(errno, "setting uid 0 in the joined user namespace");
}

__attribute__((constructor)) static void nook_nsenter(void)
{
	static char spec[MAX_NS * (PATH_MAX + 8)];
	struct { const char *name, *path; int flag, fd; } ns[MAX_NS];
	int n = 0, joined_pid = 0;
	char *end, *save = NULL;

	const char *join = getenv("_NOOK_NSENTER_JOIN");
	if (join == NULL)
		return; /* every other run of the binary: one getenv, nothing else */
	const char *s = getenv("_NOOK_NSENTER_SYNCFD");
	if (s != NULL && *s != '\0') {
		long fd = strtol(s, &end, 10);
		if (*end == '\0' && fd >= 0 && fd <= INT_MAX && fcntl((int)fd, F_GETFD) >= 0)
			sync_fd = (int)fd;
	}
	unsigned long flags = 0;
	s = getenv("_NOOK_NSENTER_UNSHARE");
	if (s != NULL && *s != '\0') {
		flags = strtoul(s, &end, 10);
		if (*end != '\0' || (flags & ~(unsigned long)NEW_FLAGS) != 0)
			fail(0, "invalid _NOOK_NSENTER_UNSHARE %s", s);
	}
	if (strlen(join) >= sizeof spec)
		fail(0, "_NOOK_NSENTER_JOIN is too long");
	strcpy(spec, join);
	/* The Go side (and whatever init execs) must not see these. */
	unsetenv("_NOOK_NSENTER_JOIN");
	unsetenv("_NOOK_NSENTER_UNSHARE");
	unsetenv("_NOOK_NSENTER_SYNCFD");

	/* Parse "type:path,type:path" and open every path before joining anything: after a
	 * user or mnt join, the same path may resolve differently or be out of reach. */
	for (char *tok = strtok_r(spec, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *path = strchr(tok, ':');
		if (n == MAX_NS)
			fail(0, "more than %d namespaces to join", MAX_NS);
		if (path == NULL || path[1] == '\0')
			fail(0, "invalid namespace %s: want type:path", tok);
		*path++ = '\0';
		ns[n].flag = 0;
		for (size_t i = 0; i < sizeof ns_types / sizeof ns_types[0]; i++)
			if (strcmp(tok, ns_types[i].name) == 0)
				ns[n].name = ns_types[i].name, ns[n].flag = ns_types[i].flag;
		if (ns[n].flag == 0)
			fail(0, "unknown namespace type %s", tok);
		ns[n].path = path;
		ns[n].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns[n].fd < 0)
			fail(errno, "opening %s namespace %s", ns[n].name, path);
		n++;
	}

	/* Join in the order given (user first). Passing the type makes setns(2) check the fd is
	 * that kind of namespace. A mnt join needs an unshared fs_struct: true with one thread. */
	for (int i = 0; i < n; i++) {
		if (setns(ns[i].fd, ns[i].flag) < 0)
			fail(errno, "joining %s namespace %s", ns[i].name, ns[i].path);
		close(ns[i].fd);
		if (ns[i].flag == CLONE_NEWUSER)
			become_root(); /* setns gave us every capability there; be its root too */
		if (ns[i].flag == CLONE_NEWPID)
			joined_pid = 1;
	}

	/* New namespaces are owned by the user namespace we are in now. CLONE_NEWPID only
	 * applies to children (pid_namespaces(7)), so it needs the fork below. */
	if (flags != 0 && unshare((int)flags) < 0)
		fail(errno, "creating namespaces (unshare flags %#lx)", flags);
	if (!joined_pid && (flags & CLONE_NEWPID) == 0)
		return;

	/* The pipe holds the child back until the parent has reported its pid, so that the
	 * pid line is the first thing on the sync fd and nothing runs unreported. */
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		fail(errno, "creating a pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "forking into the pid namespace");
	if (pid == 0) {
		char c;
		close(hold[1]);
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		close(hold[0]);
		return; /* the Go runtime starts here, inside the pid namespace */
	}
	char line[64];
	int len = snprintf(line, sizeof line, "{\"type\":\"pid\",\"pid\":%d}\n", (int)pid);
	if (sync_fd < 0 || write_all(sync_fd, line, (size_t)len) < 0) {
		int err = sync_fd < 0 ? EBADF : errno;
		kill(pid, SIGKILL);
		fail(err, "reporting pid %d on the sync fd", (int)pid);
	}
	_exit(0); /* closing hold[1] releases the child */
}
