#pragma D option quiet
#pragma D depends_on library procfs.d

typedef struct ioinfo {
	uint64_t bytes;
	int count;
	char name[32];
	unsigned long long flags : 3;
	struct ioinfo *next;
} ioinfo_t;

typedef unsigned int u32;

enum color { RED, GREEN = 5, BLUE };

union number {
	int i;
	long l;
};

inline int THRESHOLD = 10 * 1000;
inline string NAME = "dtscope";
inline uint64_t BIG = 0xffffffffULL;

self int depth;
self uint64_t started;
this string label;
int counts[string];
uint64_t totals[int, string];
ioinfo_t info;
u32 small;
extern int `max_ncpus;
struct ioinfo *cursor;
const char *names[4];

BEGIN
{
	small = 1;
	counts["a"] = THRESHOLD;
	totals[1, NAME] = BIG;
	info.bytes = sizeof (ioinfo_t) + sizeof (struct ioinfo) + offsetof(ioinfo_t, count);
	this->label = NAME;
	self->depth++;
	--self->depth;
	self->started = timestamp;
	printf("%d %d %s\n", GREEN, `max_ncpus, this->label);
	exit(0);
}
