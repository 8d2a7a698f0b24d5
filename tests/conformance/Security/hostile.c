/* Hostile helper for the runcs security tests (issue #8), compiled static by the tests (gcc) and
 * copied into a container's rootfs. Modes:
 *   hostile hunt SECONDS REPORT   CVE-2019-5736: scan /proc/<pid>/exe of every process it can see,
 *                                 keep an O_PATH fd of every executable that is not its own, try to
 *                                 open each one for writing (at once and again at the end, when the
 *                                 runtime that owned it has gone). Never writes a byte. REPORT lines:
 *                                 "EXE <dev>:<ino> <link>", "WRITABLE <dev>:<ino> <link>", "DONE <scans>".
 *   hostile recvtty SOCKET OUT    console socket receiver: accepts one connection, receives the pty
 *                                 master (SCM_RIGHTS), copies what it reads to OUT until EOF/EIO.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXKEEP 256
static int keep_fd[MAXKEEP]; static char keep_link[MAXKEEP][256]; static dev_t keep_dev[MAXKEEP]; static ino_t keep_ino[MAXKEEP];
static int nkeep;

static int try_write(int fd, FILE *rep, const char *link, struct stat *st) {
    char p[64]; snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    int w = open(p, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
        fprintf(rep, "WRITABLE %lu:%lu %s\n", (unsigned long)st->st_dev, (unsigned long)st->st_ino, link);
        fflush(rep); close(w); return 1;
    }
    return 0;
}

static int hunt(int secs, const char *report) {
    FILE *rep = fopen(report, "w");
    if (!rep) return 2;
    struct stat self; if (stat("/proc/self/exe", &self) != 0) return 2;
    pid_t me = getpid();
    time_t end = time(NULL) + secs; long scans = 0;
    while (time(NULL) < end) {
        DIR *d = opendir("/proc"); if (!d) return 2;
        struct dirent *e;
        while ((e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid == me) continue;
            char p[64]; snprintf(p, sizeof p, "/proc/%d/exe", pid);
            int fd = open(p, O_PATH | O_CLOEXEC);
            if (fd < 0) continue;
            struct stat st;
            if (fstat(fd, &st) != 0 || (st.st_dev == self.st_dev && st.st_ino == self.st_ino)) { close(fd); continue; }
            int seen = 0;
            for (int i = 0; i < nkeep; i++) if (keep_dev[i] == st.st_dev && keep_ino[i] == st.st_ino) seen = 1;
            if (seen || nkeep >= MAXKEEP) { close(fd); continue; }
            char link[256] = ""; ssize_t n = readlink(p, link, sizeof link - 1); if (n > 0) link[n] = 0;
            keep_fd[nkeep] = fd; keep_dev[nkeep] = st.st_dev; keep_ino[nkeep] = st.st_ino;
            snprintf(keep_link[nkeep], sizeof keep_link[nkeep], "%s", link); nkeep++;
            fprintf(rep, "EXE %lu:%lu %s\n", (unsigned long)st.st_dev, (unsigned long)st.st_ino, link); fflush(rep);
            try_write(fd, rep, link, &st);
        }
        closedir(d); scans++;
    }
    for (int i = 0; i < nkeep; i++) {
        struct stat st; fstat(keep_fd[i], &st);
        try_write(keep_fd[i], rep, keep_link[i], &st);
    }
    fprintf(rep, "DONE %ld\n", scans); fclose(rep);
    return 0;
}

static int recvtty(const char *path, const char *out) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX }; snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 1)) { perror("bind"); return 2; }
    int c = accept(s, NULL, NULL); if (c < 0) return 2;
    char buf[256]; char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buf, sizeof buf };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    if (recvmsg(c, &m, 0) < 0) return 2;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m); if (!cm) return 2;
    int master; memcpy(&master, CMSG_DATA(cm), sizeof master);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    for (;;) { ssize_t n = read(master, buf, sizeof buf); if (n <= 0) break; write(o, buf, n); }
    close(o); return 0;
}

int main(int argc, char **argv) {
    if (argc >= 4 && !strcmp(argv[1], "hunt")) return hunt(atoi(argv[2]), argv[3]);
    if (argc >= 4 && !strcmp(argv[1], "recvtty")) return recvtty(argv[2], argv[3]);
    fprintf(stderr, "usage: hostile hunt SECONDS REPORT | recvtty SOCKET OUT\n");
    return 2;
}
