/*
 * file.c - whole-file reads, atomic replacement and advisory locks.  A
 * reader of a file we replace sees either the old or the new contents,
 * never a mix, and a crash leaves one of the two on disk.  A file written
 * in place is never reached through a symbolic link: one planted there
 * would have us truncate or append to whatever it points at.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

char *
sg_slurp(const char *path, size_t *len, struct sg_error *e)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!fp) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - n < 4096) {
			cap = cap ? 2 * cap : 8192;
			buf = sg_xrealloc(buf, cap + 1);
		}
		got = fread(buf + n, 1, cap - n, fp);
		n += got;
	} while (got > 0);
	if (ferror(fp)) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int
sg_file_hash(const char *path, char out[17], struct sg_error *e)
{
	size_t len;
	char *buf = sg_slurp(path, &len, e);

	if (!buf)
		return -1;
	snprintf(out, 17, "%016llx", (unsigned long long)sg_hash64(buf, len));
	free(buf);
	return 0;
}

static int
fsync_dir(const char *path)
{
	char *copy = sg_xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	int rc = 0;

	free(copy);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0 && errno != EINVAL)
		rc = -1;
	close(fd);
	return rc;
}

/* data written to a temporary file beside path and renamed to it; with
 * sync, each made durable on the way. */
static int
write_renamed(const char *path, const char *data, size_t len, int sync,
	struct sg_error *e)
{
	size_t tlen = strlen(path) + 16;
	char *tmp = sg_xmalloc(tlen);
	ssize_t w;
	int fd;

	snprintf(tmp, tlen, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		sg_seterr(e, "cannot create a file beside '%s': %s", path,
			strerror(errno));
		free(tmp);
		return -1;
	}
	while (len > 0) {
		w = write(fd, data, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		data += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, 0644) < 0 || (sync && fsync(fd) < 0))
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	if (sync)
		fsync_dir(path);
	return 0;
fail:
	sg_seterr(e, "cannot write '%s': %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int
sg_rename_synced(const char *from, const char *to, struct sg_error *e)
{
	if (rename(from, to) < 0) {
		sg_seterr(e, "cannot rename '%s' to '%s': %s", from, to,
			strerror(errno));
		return -1;
	}
	fsync_dir(to);
	return 0;
}

int
sg_write_atomic(
	const char *path, const char *data, size_t len, struct sg_error *e)
{
	return write_renamed(path, data, len, 1, e);
}

int
sg_write_renamed(
	const char *path, const char *data, size_t len, struct sg_error *e)
{
	return write_renamed(path, data, len, 0, e);
}

int
sg_open_nofollow(const char *path, int flags, struct sg_error *e)
{
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd >= 0)
		return fd;
	/* ELOOP is also a path with too many links on the way */
	if (errno != ELOOP || sg_no_link(path, e) == 0)
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
	return -1;
}

int
sg_no_link(const char *path, struct sg_error *e)
{
	struct stat sb;

	if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		sg_seterr(e, "refusing to write through symbolic link '%s'",
			path);
		return -1;
	}
	return 0;
}

FILE *
sg_fopen_nofollow(const char *path, const char *mode, struct sg_error *e)
{
	int flags = O_CREAT | (mode[0] == 'w' ? O_TRUNC : O_APPEND) |
		    (strchr(mode, '+') ? O_RDWR : O_WRONLY);
	int fd = sg_open_nofollow(path, flags, e);
	FILE *fp;

	if (fd < 0)
		return NULL;
	if (!(fp = fdopen(fd, mode))) {
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}

/* The lock lives in its own file: the data file is replaced by rename, so
 * a lock on it would guard an inode nobody reads any more. */
int
sg_lock(const char *path, struct sg_error *e)
{
	size_t n = strlen(path) + 6;
	char *lock = sg_xmalloc(n);
	int fd;

	snprintf(lock, n, "%s.lock", path);
	fd = sg_open_nofollow(lock, O_RDWR | O_CREAT, e);
	if (fd < 0) {
		free(lock);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		sg_seterr(e, "cannot lock '%s': %s", lock, strerror(errno));
		close(fd);
		free(lock);
		return -1;
	}
	free(lock);
	return fd;
}

void
sg_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

char *
sg_suffixed(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *s = sg_xmalloc(n);

	snprintf(s, n, "%s%s", path, suffix);
	return s;
}

int
sg_mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

FILE *
sg_open_from(const char *path, off_t off, int *status, struct sg_error *e)
{
	FILE *fp;

	*status = 0;
	if (!(fp = fopen(path, "r"))) {
		if (errno == ENOENT)
			return NULL;
		sg_seterr(e, "cannot open '%s': %s", path, strerror(errno));
		*status = SG_EXIT_IO;
		return NULL;
	}
	if (fseeko(fp, off, SEEK_SET) < 0) {
		sg_seterr(e, "cannot read '%s': %s", path, strerror(errno));
		*status = SG_EXIT_IO;
		fclose(fp);
		return NULL;
	}
	return fp;
}

int
sg_close_synced(FILE *fp, const char *path, off_t *size, struct sg_error *e)
{
	struct stat sb;

	if (fflush(fp) == EOF || fsync(fileno(fp)) < 0 || ferror(fp) ||
		fstat(fileno(fp), &sb) < 0) {
		sg_seterr(e, "cannot write '%s': %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	if (fclose(fp) == EOF) {
		sg_seterr(e, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	*size = sb.st_size;
	return 0;
}
