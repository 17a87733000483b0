//! The Examples section of every command's `--help` (and so of the man page), kept
//! apart from the flags in `args.rs` so that each reads whole. Every line that starts
//! with `eagain ` is a real command on the repository's own files that works from the
//! repository's root; a line ending in `\` goes on the next one. The test
//! `tests/integration/help.rs` runs them all, in order, from a copy of `models/` and
//! `tests/data/` (a harness target is swapped for the hidden `mock` one there).

/// `eagain` itself.
pub const EAGAIN: &str = "\
Examples:
  eagain sweep models/nginx-gunicorn.toml --set load.arrival=poisson --vary load.rate=0.1:2.4:0.1 --vary pool.process_limit=1,2,4 --out output/nginx-gunicorn
  eagain simulate models/nginx-gunicorn.toml --set load.rate=0.6 --set load.arrival=poisson

Each command's --help shows its own examples; README.md and docs/ are the guide.";

pub const SIMULATE: &str = "\
Examples:
  eagain simulate models/nginx-gunicorn.toml --set load.rate=0.6 --set load.arrival=poisson
  eagain simulate models/mmck.toml --set work.blocking=0.9 --replications 4 --format json
  eagain simulate models/mmck.toml --set 'work.blocking={ dist = \"lognormal\", mean = 1.0, sd = 2.0 }'
  eagain simulate models/php-fpm-dynamic.toml --out output/php-fpm-dynamic

A bare number given to a distribution (work.blocking=0.9) is a constant.";

pub const SWEEP: &str = "\
Examples:
  eagain sweep models/nginx-gunicorn.toml --set load.arrival=poisson --vary load.rate=0.1:2.4:0.1 --vary pool.process_limit=1,2,4 --out output/nginx-gunicorn
  eagain sweep models/mmck.toml --vary load.rate=4:16:x2 --vary pool.process_limit=8,10 --format json --out output/mmck
  # the same grid as 2 shards, e.g. the tasks of a Slurm job array (sbatch --array=0-1),
  # a Kubernetes Indexed Job (completions: 2) or an AWS Batch array job of size 2, where
  # --shard auto/2 takes K from the task's index; then merge joins them:
  eagain sweep models/mmck.toml --vary load.rate=4:16:x2 --vary pool.process_limit=8,10 --shard 0/2 --out output/shards/0
  eagain sweep models/mmck.toml --vary load.rate=4:16:x2 --vary pool.process_limit=8,10 --shard 1/2 --out output/shards/1
  eagain merge output/shards/0 output/shards/1 --out output/mmck-merged

Exit codes: 0 done; 2 bad input (do not retry); 1 any other failure; 75 stopped by
SIGTERM with its progress saved in DIR/progress.jsonl (run it again with --resume).
docs/cluster.md shows a whole study on Slurm and Kubernetes.";

pub const MERGE: &str = "\
Examples:
  eagain sweep models/mmck.toml --vary load.rate=4:16:x2 --shard 0/2 --out output/shards/0
  eagain sweep models/mmck.toml --vary load.rate=4:16:x2 --shard 1/2 --out output/shards/1
  eagain merge output/shards/0 output/shards/1 --out output/mmck

The result is byte for byte that of the same sweep without --shard.";

pub const PLOT: &str = "\
Examples:
  eagain sweep models/nginx-gunicorn.toml --set load.arrival=poisson --vary load.rate=0.1:2.4:0.1 --vary pool.process_limit=1,2,4 --out output/nginx-gunicorn
  eagain plot output/nginx-gunicorn/results.csv --target 0.001 --out output/capacity-target.png
  eagain plot output/nginx-gunicorn/results.csv --metric latency_s_p99 --out output/p99.png
  eagain plot output/nginx-gunicorn/results.csv --kind heatmap --x load.rate --series pool.process_limit --out output/heat.png";

pub const PLAN: &str = "\
Examples:
  eagain plan models/nginx-gunicorn.toml --set load.arrival=poisson --set load.rate=1.5 --solve pool.process_limit --target 'failure_probability<=0.001'
  eagain plan models/mmck.toml --solve load.rate --target 'refusal_probability<=0.01'

The last line on stdout is PATH=VALUE.";

pub const ANALYTIC: &str = "\
Examples:
  eagain analytic mmck --rate 9 --mu 1 --servers 10 --capacity 20
  eagain analytic erlang-b --servers 10 --load 5
  eagain analytic erlang-c --servers 10 --load 9 --mu 1
  eagain analytic md1k --rate 0.9 --service 1 --capacity 10

docs/oracles.md has the formulas and the values the tests pin.";

pub const ERLANG_B: &str = "\
Example:
  eagain analytic erlang-b --servers 10 --load 5";

pub const ERLANG_C: &str = "\
Example:
  eagain analytic erlang-c --servers 10 --load 9 --mu 1";

pub const MMCK: &str = "\
Example (models/mmck.toml's exact refusal probability):
  eagain analytic mmck --rate 9 --mu 1 --servers 10 --capacity 20";

pub const MD1K: &str = "\
Example:
  eagain analytic md1k --rate 0.9 --service 1 --capacity 10";

pub const HARNESS: &str = "\
Example (the builtin target is eagain's own pre-forking server: nothing to install):
  eagain harness models/mmck.toml --target builtin --set load.duration=3 --set sim.warmup=0 --set pool.process_limit=2 --set listener.backlog=3 --set work.blocking=0.05 --vary load.rate=10,40 --runs 2 --out output/harness

The other targets run the Debian packages they name (nginx, gunicorn, dovecot-imapd,
php8.2-fpm, apache2, courier-base); a missing one is refused with its package.";

pub const VALIDATE: &str = "\
Example (the builtin target is eagain's own pre-forking server: nothing to install):
  eagain validate models/mmck.toml --target builtin --set load.arrival=constant --set load.duration=3 --set sim.warmup=0 --set listener.backlog=4 --set work.blocking=0.073 --vary pool.process_limit=2,3 --vary load.rate=15,33,71 --runs 2 --replications 2 --out output/validation

The last line on stdout is max_abs_error=<number>.";

pub const IMPORT: &str = "\
Examples (each reads a file shipped in tests/data; on your server, give your own):
  eagain import doveconf tests/data/doveconf/debian-2.3.19.1-default.conf --out output/dovecot.toml
  eagain import php-fpm tests/data/php-fpm/debian-www.conf --out output/www.toml
  eagain import apache tests/data/apache/debian-mpm_prefork.conf --out output/apache.toml
  eagain simulate output/www.toml";

pub const DOVECONF: &str = "\
Example (Debian's default configuration, as `doveconf -n` prints it):
  eagain import doveconf tests/data/doveconf/debian-2.3.19.1-default.conf --out output/dovecot.toml
  eagain import doveconf tests/data/doveconf/debian-2.3.19.1-default.conf --service imap --out output/imap.toml
  eagain simulate output/dovecot.toml --set load.rate=20

On the server: doveconf -n > dovecot.txt, then import dovecot.txt.";

pub const PHP_FPM: &str = "\
Example (Debian's www.conf; on the server: /etc/php/8.2/fpm/pool.d/www.conf):
  eagain import php-fpm tests/data/php-fpm/debian-www.conf --out output/www.toml
  eagain simulate output/www.toml";

pub const APACHE: &str = "\
Example (Debian's mpm_prefork.conf; on the server:
/etc/apache2/mods-available/mpm_prefork.conf):
  eagain import apache tests/data/apache/debian-mpm_prefork.conf --out output/apache.toml
  eagain simulate output/apache.toml";

pub const NGINX_LOG: &str = "\
Example (a shipped log; docs/semantics.md, log-nginx-format, has the recommended log_format):
  eagain import nginx-log models/examples/peak-access.log --workers 4 --out output/peak \\
    --log-format 'msec=$msec rt=$request_time ct=$connection_time rid=$request_id cr=$connection_requests addr=$remote_addr \"$request\" $status $body_bytes_sent ua=\"$upstream_addr\" us=\"$upstream_status\" uct=\"$upstream_connect_time\" uht=\"$upstream_header_time\" urt=\"$upstream_response_time\"'
  eagain simulate output/peak/model.toml";
