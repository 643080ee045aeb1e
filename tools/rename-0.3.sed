# rename-0.3.sed - the 0.3 names of the streaming handle, for code written against 0.2.
#
# In 0.3 "write" means "replace a file" everywhere (ajio_write_bytes, ajio_write_text, ...), so
# the handle's functions carry the prefix of their type, as ajio_file_path() always did:
#
#   ajio_open    -> ajio_file_open        ajio_commit -> ajio_file_commit
#   ajio_write   -> ajio_file_write       ajio_abort  -> ajio_file_abort
#   ajio_printf  -> ajio_file_printf      ajio_vprintf -> ajio_file_vprintf
#
# The 0.2 names still link in 0.3 (deprecated, see <ajio.h>) and are gone in 0.4. Only whole
# identifiers are renamed: ajio_write_bytes, ajio_batch_commit, ajio_log_open, ajio_gen_open and
# the like are left alone, and running it twice changes nothing. Use it with GNU sed -E:
#
#   grep -rlwE 'ajio_(open|write|printf|vprintf|commit|abort)' src/ | xargs sed -i -E -f rename-0.3.sed
#
# In this tree it is applied to every file but those that must keep the 0.2 names: the
# deprecated declarations in include/ajio.h, src/compat.c, tests/test_compat.c, the symbols file
# and this script:
#
#   git grep -lwE 'ajio_(open|write|printf|vprintf|commit|abort)' -- ':!include/ajio.h' \
#       ':!src/compat.c' ':!tests/test_compat.c' ':!debian/libajio0.symbols' \
#       ':!tools/rename-0.3.sed' | xargs sed -i -E -f tools/rename-0.3.sed
#
# The two functions whose arguments changed, ajio_repair() and ajio_reader_open(), keep their
# names: the compiler points at each call to change.
s/\bajio_open\b/ajio_file_open/g
s/\bajio_write\b/ajio_file_write/g
s/\bajio_printf\b/ajio_file_printf/g
s/\bajio_vprintf\b/ajio_file_vprintf/g
s/\bajio_commit\b/ajio_file_commit/g
s/\bajio_abort\b/ajio_file_abort/g
