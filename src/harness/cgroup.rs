//! The CPU quota of a run's servers (SPEC 13: `host.cpus`): a cgroup of the run's own
//! under the one this process is in, in the `cpu` controller's hierarchy, with a
//! quota of `host.cpus` x the period (cgroup v1's `cpu.cfs_quota_us` over
//! `cpu.cfs_period_us`, or cgroup v2's `cpu.max`). The pool's master joins it before
//! it runs its program (`sys::join_cgroup`), so every process it forks is in it; the
//! load generator, nginx and the harness stay outside, as they are on a real machine
//! where only the application's container is limited (reference: cpu-sharing, where
//! gunicorn alone was in the group). The group also gets the largest CPU weight, so
//! that other work on the machine does not take the quota's CPUs from it. The group is removed when the run ends, also on
//! failure: by its owner (`Cgroup`'s drop), and again by the harness after the run's
//! supervisor has ended, whatever became of it (`remove_named`).

use std::path::{Path, PathBuf};

/// The period of the quota, in microseconds: the kernel's default (100 ms), the one
/// the reference's measurements used.
pub const PERIOD_US: u64 = 100_000;
/// The group's weight against the machine's other processes (v1 `cpu.shares`, v2
/// `cpu.weight`): ten times a plain process's (1024, 100), about a process at nice
/// -10's, as the load generator runs. The quota caps what the pool uses; the weight
/// makes sure it gets that much when other work (a compiler on the same cores) wants
/// the CPUs too, so that the pool has the `host.cpus` the model says, as a
/// container's guaranteed CPUs would be; no more, so that the load generator still
/// keeps its schedule (with the largest weight it fell 40 ms behind). On an idle
/// machine it changes nothing.
const V1_SHARES: u64 = 10_240;
const V2_WEIGHT: u64 = 1_000;
/// The smallest quota the kernel takes, in microseconds.
const MIN_QUOTA_US: u64 = 1_000;
/// The prefix of every group the harness makes (its folder's name starts so too).
const PREFIX: &str = "eagain-";

/// Which cgroup interface the `cpu` controller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// Where a run's group is made: this process's own group in the `cpu` controller's
/// hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub parent: PathBuf,
    pub version: Version,
}

/// The quota in microseconds a period for `cpus` CPUs.
pub fn quota_us(cpus: f64) -> u64 {
    ((cpus * PERIOD_US as f64).round() as u64).max(MIN_QUOTA_US)
}

/// The group's name for the run whose folder is `dir` inside the harness's folder
/// `base`: both are unique to the run (the harness's pid and start, the point, the
/// replication and the attempt).
pub fn name_for(base: &Path, dir: &Path) -> String {
    let part = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    format!("{}-{}", part(base), part(dir))
}

/// This machine's place for a run's group, or why there is none. It is found from
/// `/proc/self/mounts` and `/proc/self/cgroup`, and tried: a group made there, its
/// quota written and the group removed.
pub fn find() -> Result<Place, String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")
        .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let place = locate(&mounts, &own, |p| std::fs::read_to_string(p).ok())?;
    let probe = format!("{PREFIX}probe-{}", std::process::id());
    let mut group = Cgroup::create(&place, &probe, 1.0)?;
    group.remove()?;
    Ok(place)
}

/// The place from the text of `/proc/self/mounts` and `/proc/self/cgroup`: cgroup
/// v1's hierarchy with the `cpu` controller when the machine has one, otherwise
/// cgroup v2's when its root offers `cpu` (`read` reads a file of it).
pub fn locate(
    mounts: &str,
    own: &str,
    read: impl Fn(&Path) -> Option<String>,
) -> Result<Place, String> {
    let mut v2_root = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 4 {
            continue;
        }
        let (point, kind, options) = (f[1], f[2], f[3]);
        if kind == "cgroup" && options.split(',').any(|o| o == "cpu") {
            // This process's group in the hierarchy whose controllers include cpu.
            let path = own
                .lines()
                .filter_map(|l| {
                    let mut parts = l.splitn(3, ':');
                    let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                    controllers.split(',').any(|c| c == "cpu").then_some(path)
                })
                .next()
                .unwrap_or("/");
            return Ok(Place {
                parent: join(point, path),
                version: Version::V1,
            });
        }
        if kind == "cgroup2" && v2_root.is_none() {
            v2_root = Some(point.to_string());
        }
    }
    let Some(root) = v2_root else {
        return Err(
            "this machine has no cgroup hierarchy with the cpu controller mounted (neither a \
             cgroup v1 `cpu` mount nor cgroup v2)"
                .into(),
        );
    };
    let controllers = read(&Path::new(&root).join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "cpu") {
        return Err(format!(
            "cgroup v2 at {root} does not offer the cpu controller (cgroup.controllers: \
             `{}`), and no cgroup v1 hierarchy has it",
            controllers.trim()
        ));
    }
    let path = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    Ok(Place {
        parent: join(&root, path),
        version: Version::V2,
    })
}

fn join(mount: &str, path: &str) -> PathBuf {
    let rel = path.trim().trim_start_matches('/');
    if rel.is_empty() {
        PathBuf::from(mount)
    } else {
        Path::new(mount).join(rel)
    }
}

/// What the kernel counted of a group's throttling (its `cpu.stat`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled: u64,
    /// Seconds the group's processes waited, throttled.
    pub throttled_s: f64,
}

impl Throttling {
    /// From the text of `cpu.stat` (v1's `throttled_time` is in ns, v2's
    /// `throttled_usec` in µs).
    pub fn parse(text: &str) -> Throttling {
        let mut t = Throttling::default();
        for line in text.lines() {
            let mut w = line.split_whitespace();
            let (Some(k), Some(v)) = (w.next(), w.next().and_then(|v| v.parse::<u64>().ok()))
            else {
                continue;
            };
            match k {
                "nr_periods" => t.periods = v,
                "nr_throttled" => t.throttled = v,
                "throttled_time" => t.throttled_s = v as f64 * 1e-9,
                "throttled_usec" => t.throttled_s = v as f64 * 1e-6,
                _ => {}
            }
        }
        t
    }
}

/// A run's group; removed when dropped.
#[derive(Debug)]
pub struct Cgroup {
    dir: PathBuf,
    version: Version,
    cpus: f64,
    removed: bool,
}

impl Cgroup {
    /// Makes group `name` at `place` with a quota of `cpus` CPUs.
    pub fn create(place: &Place, name: &str, cpus: f64) -> Result<Cgroup, String> {
        let dir = place.parent.join(name);
        let at = dir.clone();
        let write = move |file: &str, text: String| {
            let path = at.join(file);
            std::fs::write(&path, &text)
                .map_err(|e| format!("cannot write `{}` to {}: {e}", text.trim(), path.display()))
        };
        if place.version == Version::V2 {
            // A v2 group has cpu.max only when its parent hands the controller down.
            let control = place.parent.join("cgroup.subtree_control");
            let given = std::fs::read_to_string(&control).unwrap_or_default();
            if !given.split_whitespace().any(|c| c == "cpu") {
                std::fs::write(&control, "+cpu").map_err(|e| {
                    format!(
                        "cannot enable the cpu controller for the groups under {} (`+cpu` \
                         into {}: {e}; a group with processes of its own cannot hand \
                         controllers down in cgroup v2)",
                        place.parent.display(),
                        control.display()
                    )
                })?;
            }
        }
        std::fs::create_dir(&dir)
            .map_err(|e| format!("cannot make the cgroup {}: {e}", dir.display()))?;
        let mut group = Cgroup {
            dir,
            version: place.version,
            cpus,
            removed: false,
        };
        let quota = quota_us(cpus);
        let set = match place.version {
            Version::V1 => write("cpu.cfs_period_us", format!("{PERIOD_US}\n"))
                .and_then(|()| write("cpu.cfs_quota_us", format!("{quota}\n")))
                .and_then(|()| write("cpu.shares", format!("{V1_SHARES}\n"))),
            Version::V2 => write("cpu.max", format!("{quota} {PERIOD_US}\n"))
                .and_then(|()| write("cpu.weight", format!("{V2_WEIGHT}\n"))),
        };
        if let Err(e) = set {
            let _ = group.remove();
            return Err(e);
        }
        Ok(group)
    }

    /// The file a process writes itself into to join the group.
    pub fn procs(&self) -> PathBuf {
        self.dir.join("cgroup.procs")
    }

    /// What the kernel counted of the group's throttling so far.
    pub fn throttling(&self) -> Throttling {
        Throttling::parse(&std::fs::read_to_string(self.dir.join("cpu.stat")).unwrap_or_default())
    }

    /// One line for the run's notes: the quota and how much of the run it throttled.
    pub fn summary(&self) -> String {
        let t = self.throttling();
        format!(
            "CPU quota {:.2} CPU (cgroup {}: {} us of each {PERIOD_US} us): {} of {} periods \
             throttled, {:.1} s waited",
            self.cpus,
            match self.version {
                Version::V1 => "v1 cpu.cfs_quota_us",
                Version::V2 => "v2 cpu.max",
            },
            quota_us(self.cpus),
            t.throttled,
            t.periods,
            t.throttled_s
        )
    }

    /// Kills what is left in the group (the run's own server processes) and removes
    /// it, trying for up to 3 s while the killed processes exit.
    pub fn remove(&mut self) -> Result<(), String> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        remove_dir(&self.dir)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

fn remove_dir(dir: &Path) -> Result<(), String> {
    let end = super::sys::mono() + 3.0;
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                // The processes in it are the run's servers, which this run started.
                let pids = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                for pid in pids.lines().filter_map(|p| p.trim().parse::<i32>().ok()) {
                    super::sys::kill(pid, libc::SIGKILL);
                }
                if super::sys::mono() > end {
                    return Err(format!("cannot remove the cgroup {}: {e}", dir.display()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

/// Removes the run's group named `name` if it is still there (its supervisor was
/// killed before it could); nothing when the machine has no place for groups.
pub fn remove_named(name: &str) -> Result<(), String> {
    if !name.starts_with(PREFIX) || name.contains('/') {
        return Ok(());
    }
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return Ok(());
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    match locate(&mounts, &own, |p| std::fs::read_to_string(p).ok()) {
        Ok(place) => remove_dir(&place.parent.join(name)),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_MOUNTS: &str = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n\
        cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0\n\
        cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n\
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";

    #[test]
    fn cgroup_v1_is_found_at_this_processs_group_in_the_cpu_hierarchy() {
        let own = "4:memory:/box/7\n2:cpu,cpuacct:/box\n0::/\n";
        let p = locate(V1_MOUNTS, own, |_| None).unwrap();
        assert_eq!(
            p,
            Place {
                parent: PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/box"),
                version: Version::V1
            }
        );
        let p = locate(V1_MOUNTS, "2:cpu,cpuacct:/\n", |_| None).unwrap();
        assert_eq!(p.parent, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
    }

    #[test]
    fn cgroup_v2_is_used_only_when_it_offers_the_cpu_controller() {
        let mounts = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n";
        let with = |c: &'static str| move |_: &Path| Some(c.to_string());
        let p = locate(
            mounts,
            "0::/user.slice/x\n",
            with("cpuset cpu io memory pids"),
        )
        .unwrap();
        assert_eq!(
            p,
            Place {
                parent: PathBuf::from("/sys/fs/cgroup/user.slice/x"),
                version: Version::V2
            }
        );
        let e = locate(mounts, "0::/\n", with("memory pids")).unwrap_err();
        assert!(e.contains("does not offer the cpu controller"), "{e}");
        let e = locate("proc /proc proc rw 0 0\n", "", |_| None).unwrap_err();
        assert!(e.contains("no cgroup hierarchy"), "{e}");
    }

    #[test]
    fn the_quota_is_the_cpus_times_the_period_and_never_below_the_kernels_least() {
        assert_eq!(quota_us(1.0), 100_000);
        assert_eq!(quota_us(0.5), 50_000);
        assert_eq!(quota_us(1.25), 125_000);
        assert_eq!(quota_us(0.001), MIN_QUOTA_US);
    }

    #[test]
    fn a_v1_group_gets_its_period_and_quota_and_is_removed_when_dropped() {
        // A plain folder stands in for the hierarchy: the files are written as the
        // kernel's would be.
        let root = tempfile::tempdir().unwrap();
        let place = Place {
            parent: root.path().to_path_buf(),
            version: Version::V1,
        };
        let g = Cgroup::create(&place, "eagain-t", 0.5).unwrap();
        let read = |f: &str| std::fs::read_to_string(root.path().join("eagain-t").join(f)).unwrap();
        assert_eq!(read("cpu.cfs_period_us"), "100000\n");
        assert_eq!(read("cpu.cfs_quota_us"), "50000\n");
        assert_eq!(read("cpu.shares"), "10240\n");
        assert_eq!(g.procs(), root.path().join("eagain-t/cgroup.procs"));
        // A real group's files vanish with it; here they are removed first.
        for f in ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"] {
            std::fs::remove_file(root.path().join("eagain-t").join(f)).unwrap();
        }
        drop(g);
        assert!(!root.path().join("eagain-t").exists());
    }

    #[test]
    fn a_v2_group_hands_the_controller_down_and_writes_cpu_max() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("cgroup.subtree_control"), "memory\n").unwrap();
        let place = Place {
            parent: root.path().to_path_buf(),
            version: Version::V2,
        };
        let mut g = Cgroup::create(&place, "eagain-t", 2.0).unwrap();
        let dir = root.path().join("eagain-t");
        assert_eq!(
            std::fs::read_to_string(dir.join("cpu.max")).unwrap(),
            "200000 100000\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.path().join("cgroup.subtree_control")).unwrap(),
            "+cpu"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("cpu.weight")).unwrap(),
            "1000\n"
        );
        std::fs::remove_file(dir.join("cpu.max")).unwrap();
        std::fs::remove_file(dir.join("cpu.weight")).unwrap();
        g.remove().unwrap();
        assert!(!dir.exists());
    }

    #[test]
    fn throttling_is_read_from_either_versions_cpu_stat() {
        let v1 = "nr_periods 205\nnr_throttled 201\nthrottled_time 19300000000\nnr_bursts 0\n";
        assert_eq!(
            Throttling::parse(v1),
            Throttling {
                periods: 205,
                throttled: 201,
                throttled_s: 19.3
            }
        );
        let v2 = "usage_usec 1000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n";
        assert_eq!(Throttling::parse(v2).throttled_s, 0.25);
    }

    #[test]
    fn a_groups_name_is_the_runs_folders_and_only_such_names_are_removed() {
        let n = name_for(
            Path::new("/tmp/eagain-harness-12-0abc"),
            Path::new("/tmp/eagain-harness-12-0abc/p0-r1-a0"),
        );
        assert_eq!(n, "eagain-harness-12-0abc-p0-r1-a0");
        assert_eq!(remove_named("../../etc"), Ok(()));
        assert_eq!(remove_named("eagain-../x/y"), Ok(()));
    }
}
