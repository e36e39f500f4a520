/* Policy text parsing; the tier decision itself is inline in policy.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "policy.h"

static int parse_weight(const char *s, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > CXLMU_INTERLEAVE_MAX_WEIGHT)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

int cxlmu_policy_parse(const char *text, struct cxlmu_policy *out)
{
	struct cxlmu_policy p = { 0 };
	const char *colon;

	if (!text)
		return -EINVAL;
	if (!strcmp(text, "local")) {
		p.kind = CXLMU_POLICY_LOCAL;
	} else if (!strcmp(text, "cxl")) {
		p.kind = CXLMU_POLICY_CXL;
	} else if (!strncmp(text, "size:", 5)) {
		p.kind = CXLMU_POLICY_SIZE;
		if (cxlmu_parse_size(text + 5, &p.bytes))
			return -EINVAL;
	} else if (!strncmp(text, "budget:", 7)) {
		p.kind = CXLMU_POLICY_BUDGET;
		if (cxlmu_parse_size(text + 7, &p.bytes))
			return -EINVAL;
	} else if (!strncmp(text, "interleave:", 11)) {
		const char *d = text + 11;
		p.kind = CXLMU_POLICY_INTERLEAVE;
		colon = strchr(d, ':');
		if (!colon || parse_weight(d, colon, &p.dram_weight) ||
		    parse_weight(colon + 1, colon + 1 + strlen(colon + 1), &p.cxl_weight))
			return -EINVAL;
		/* 0:C is all CXL and D:0 all DRAM: legal, but both 0 means nothing. */
		if (p.dram_weight + p.cxl_weight == 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	*out = p;
	return 0;
}

int cxlmu_policy_format(const struct cxlmu_policy *p, char *buf, size_t size)
{
	switch (p->kind) {
	case CXLMU_POLICY_CXL:
		return snprintf(buf, size, "cxl");
	case CXLMU_POLICY_SIZE:
		return snprintf(buf, size, "size:%llu", (unsigned long long)p->bytes);
	case CXLMU_POLICY_BUDGET:
		return snprintf(buf, size, "budget:%llu", (unsigned long long)p->bytes);
	case CXLMU_POLICY_INTERLEAVE:
		return snprintf(buf, size, "interleave:%u:%u", p->dram_weight, p->cxl_weight);
	case CXLMU_POLICY_SITES:
		return snprintf(buf, size, "sites");
	case CXLMU_POLICY_LOCAL:
	default:
		return snprintf(buf, size, "local");
	}
}
