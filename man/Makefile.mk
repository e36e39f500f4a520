# man/: cxlmu-run(1) and libcxlmu(7) are templates whose @OPTIONS@ and
# @ENVIRONMENT@ lines are filled from the options table by cxlmu-mangen;
# cxlmu-stat(1) and the section 3 pages are plain files.
man_MANS = man/cxlmu-run.1 man/libcxlmu.7
dist_man_MANS += \
	man/cxlmu-stat.1 \
	man/cxlmu_malloc_on.3 \
	man/cxlmu_page_node.3 \
	man/cxlmu_remote_await.3 \
	man/cxlmu_remote_submit.3 \
	man/cxlmu_stats_write.3 \
	man/cxlmu_version.3 \
	man/cxlmu_wait_word.3 \
	man/cxlmu_wake_word.3
EXTRA_DIST += man/cxlmu-run.1.in man/libcxlmu.7.in
CLEANFILES += $(man_MANS)

man_generate = $(AM_V_GEN)$(MKDIR_P) man && \
	./cxlmu-mangen options > $@.opt && \
	./cxlmu-mangen environment > $@.env && \
	sed -e '/^@OPTIONS@$$/{r $@.opt' -e 'd;}' \
	    -e '/^@ENVIRONMENT@$$/{r $@.env' -e 'd;}' \
	    -e 's|@VERSION@|$(PACKAGE_VERSION)|g' \
	    -e 's|@SONAME@|$(CXLMU_SONAME)|g' -e 's|@LIBDIR@|$(libdir)|g' \
	    $(top_srcdir)/$@.in > $@.tmp && \
	rm -f $@.opt $@.env && mv $@.tmp $@

man/cxlmu-run.1: $(top_srcdir)/man/cxlmu-run.1.in cxlmu-mangen$(EXEEXT)
	$(man_generate)
man/libcxlmu.7: $(top_srcdir)/man/libcxlmu.7.in cxlmu-mangen$(EXEEXT)
	$(man_generate)
