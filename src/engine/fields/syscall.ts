import type { FieldSpec } from '../api.js';
import { GENERIC_EVT_FIELDS } from './generic.js';
import { SYSCALL_NAMES } from './syscall-names.js';
import { fieldTable } from './table.js';

/** Event names that are not syscalls but that libsinsp produces (and rules may name in evt.type). */
const NON_SYSCALL_EVENTS = [
  'umount',
  'container',
  'procexit',
  'switch',
  'signaldeliver',
  'pluginevent',
  'asyncevent',
  'drop',
  'notification',
  'infra',
  'k8s',
  'mesos',
  'procinfo',
  'cpu_hotplug',
  'sysdigevent',
  'tracer',
  'page_fault',
  'scapevent',
  'user_added',
  'user_deleted',
  'group_added',
  'group_deleted',
  'socketcall',
  'bpf',
];

/** Every event-type name the syscall source knows (valid `evt.type` values). */
export const SYSCALL_EVENT_TYPES: readonly string[] = [
  ...new Set([...SYSCALL_NAMES, ...NON_SYSCALL_EVENTS]),
].sort();

const SYSCALL_ONLY = fieldTable(`
evt.type charbuf - event type name, e.g. open or execve
syscall.type charbuf - system call name for syscall events
evt.category charbuf - event category (file, net, process, ...)
evt.cpu int16 - CPU number the event happened on
evt.args charbuf - all event arguments as text
evt.arg charbuf AaD one argument by name (evt.arg.flags) or index (evt.arg[0])
evt.rawarg uint64 AD one argument by name without formatting (evt.rawarg.res)
evt.info charbuf - argument text, or a description for some events
evt.buffer bytebuf - binary data buffer of the event (read/write)
evt.buflen uint64 - length of the data buffer
evt.res charbuf - return value as text: SUCCESS or an error code name
evt.rawres int64 - return value as a number
evt.failed bool - true when the call returned an error
evt.is_io bool - true for events that read or write data
evt.is_io_read bool - true for events that read data
evt.is_io_write bool - true for events that write data
evt.io_dir charbuf - r for reads, w for writes
evt.is_wait bool - true for events that make the thread wait
evt.wait_latency relativetime X time spent waiting (deprecated)
evt.is_syslog bool - true for writes to /dev/log
evt.count uint32 - 1 for every event (for counting)
evt.count.error uint32 - 1 for events that returned an error
evt.count.error.file uint32 - 1 for file events that returned an error
evt.count.error.net uint32 - 1 for network events that returned an error
evt.count.error.memory uint32 - 1 for memory events that returned an error
evt.count.error.other uint32 - 1 for other events that returned an error
evt.count.exit uint32 - 1 for exit events
evt.count.procinfo uint32 - 1 for procinfo events
evt.count.threadinfo uint32 - 1 for thread info events
evt.around uint64 AIF events around a point in time (filter only)
evt.abspath charbuf a absolute path of a path argument (dirfd resolved)
evt.abspath.src charbuf a absolute source path of a two-path call
evt.abspath.dst charbuf a absolute destination path of a two-path call
evt.is_open_read bool - open-family call that opened for reading
evt.is_open_write bool - open-family call that opened for writing
evt.is_open_exec bool - open-family call that created an executable file
evt.is_open_create bool - open-family call that created the file
evt.deltatime relativetime - time since the previous event
evt.deltatime.s relativetime - seconds part of the time since the previous event
evt.deltatime.ns relativetime - nanoseconds part of the time since the previous event
evt.outputtime charbuf - event time as configured for output
evt.type.is uint32 AI 1 when the event type number equals the argument
evt.dir charbuf X event direction, > enter or < exit (deprecated)
evt.latency relativetime X time between enter and exit (deprecated)
evt.latency.s relativetime X seconds part of the latency (deprecated)
evt.latency.ns relativetime X nanoseconds part of the latency (deprecated)
evt.latency.human charbuf X latency as text (deprecated)
proc.exe charbuf - first command-line argument (argv[0])
proc.pexe charbuf - argv[0] of the parent
proc.aexe charbuf aI argv[0] of an ancestor; without argument, any ancestor
proc.exepath charbuf - full path of the executable
proc.pexepath charbuf - full path of the parent's executable
proc.aexepath charbuf aI full executable path of an ancestor; without argument, any ancestor
proc.name charbuf - executable name (comm)
proc.pname charbuf - parent process name
proc.aname charbuf aI name of an ancestor ([0] self, [1] parent); without argument, any ancestor
proc.args charbuf - command-line arguments after the name
proc.cmdline charbuf - full command line
proc.pcmdline charbuf - full command line of the parent
proc.acmdline charbuf aI command line of an ancestor; without argument, any ancestor
proc.cmdnargs uint64 - number of command-line arguments
proc.cmdlenargs uint64 - total length of the command-line arguments
proc.exeline charbuf - full command line with argv[0] as the first argument
proc.env charbuf aK environment, or one variable with an argument
proc.aenv charbuf aI environment of an ancestor
proc.cwd charbuf - current working directory
proc.loginshellid int64 - pid of the oldest shell ancestor
proc.tty uint32 - controlling terminal number, 0 if none
proc.pid int64 - process id
proc.ppid int64 - parent process id
proc.apid int64 aI pid of an ancestor; without argument, any ancestor
proc.vpid int64 - process id in its pid namespace
proc.pvpid int64 - parent process id in its pid namespace
proc.sid int64 - session id
proc.sname charbuf - name of the session leader
proc.sid.exe charbuf - argv[0] of the session leader
proc.sid.exepath charbuf - executable path of the session leader
proc.vpgid int64 - process group id in its namespace
proc.vpgid.name charbuf - name of the process group leader
proc.vpgid.exe charbuf - argv[0] of the process group leader
proc.vpgid.exepath charbuf - executable path of the process group leader
proc.pgid int64 - process group id
proc.pgid.name charbuf - name of the process group leader (host view)
proc.pgid.exe charbuf - argv[0] of the process group leader (host view)
proc.pgid.exepath charbuf - executable path of the process group leader (host view)
proc.duration relativetime - nanoseconds since the process started
proc.ppid.duration relativetime - nanoseconds since the parent started
proc.pid.ts abstime - process start time
proc.ppid.ts abstime - parent start time
proc.is_exe_writable bool - executable is writable by the process user
proc.is_exe_upper_layer bool - executable lives in an overlayfs upper layer
proc.is_exe_lower_layer bool - executable lives in an overlayfs lower layer
proc.is_exe_from_memfd bool - executable was run from a memfd
proc.exe_ino uint64 - inode of the executable
proc.exe_ino.ctime abstime - ctime of the executable inode
proc.exe_ino.mtime abstime - mtime of the executable inode
proc.exe_ino.ctime_duration_proc_start relativetime - nanoseconds between executable ctime and process start
proc.exe_ino.ctime_duration_pidns_start relativetime - nanoseconds between executable ctime and pid namespace start
proc.pidns_init_start_ts uint64 - start time of the pid namespace init process
proc.is_sid_leader bool - process is its session leader
proc.is_vpgid_leader bool - process is its process group leader
proc.is_pgid_leader bool - process is its process group leader (host view)
proc.nthreads uint64 - number of threads in the process
proc.nchilds uint64 - number of child threads
proc.fdopencount uint64 - open file descriptors
proc.fdlimit int64 - file descriptor limit
proc.fdusage double - open descriptors as a ratio of the limit
proc.vmsize uint64 - virtual memory size in kB
proc.vmrss uint64 - resident memory in kB
proc.vmswap uint64 - swapped memory in kB
proc.pfmajor uint64 - major page faults
proc.pfminor uint64 - minor page faults
proc.stdin.type charbuf - type of file descriptor 0
proc.stdout.type charbuf - type of file descriptor 1
proc.stderr.type charbuf - type of file descriptor 2
proc.stdin.name charbuf - name of file descriptor 0
proc.stdout.name charbuf - name of file descriptor 1
proc.stderr.name charbuf - name of file descriptor 2
proc.is_container_healthcheck bool X process is a container health check
proc.is_container_liveness_probe bool X process is a container liveness probe
proc.is_container_readiness_probe bool X process is a container readiness probe
thread.tid int64 - thread id
thread.ismain bool - thread is the main thread of its process
thread.vtid int64 - thread id in its pid namespace
thread.exectime relativetime - CPU time of the last scheduled run
thread.totexectime relativetime - total CPU time
thread.cgroups charbuf - all cgroups of the thread
thread.cgroup charbuf AK cgroup of one subsystem
thread.nametid charbuf - name and thread id
thread.cap_permitted charbuf - permitted capabilities
thread.cap_inheritable charbuf - inheritable capabilities
thread.cap_effective charbuf - effective capabilities
thread.pfmajor uint64 - major page faults of the thread
thread.pfminor uint64 - minor page faults of the thread
thread.vmsize uint64 - virtual memory of the main thread in kB
thread.vmrss uint64 - resident memory of the main thread in kB
user.uid uint32 - user id
user.name charbuf - user name
user.homedir charbuf - home directory of the user
user.shell charbuf - shell of the user
user.loginuid int64 - audit login user id
user.loginname charbuf - audit login user name
group.gid uint32 - group id
group.name charbuf - group name
fd.num int64 - file descriptor number
fd.type charbuf - descriptor type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, ...
fd.typechar charbuf - descriptor type as one character
fd.name charbuf - full name: path for files, tuple for sockets
fd.directory charbuf - directory of a file descriptor
fd.filename charbuf - file name without the directory
fd.ip ipaddr F either end of the connection (filter only)
fd.cip ipaddr - client IP address
fd.sip ipaddr - server IP address
fd.lip ipaddr - local IP address
fd.rip ipaddr - remote IP address
fd.port port F either port of the connection (filter only)
fd.cport port - client port
fd.sport port - server port
fd.lport port - local port
fd.rport port - remote port
fd.l4proto charbuf - IP protocol: tcp, udp, icmp or raw
fd.sockfamily charbuf - socket family: ip or unix
fd.is_server bool - the process is the server end
fd.uid charbuf - unique descriptor id (pid and fd)
fd.containername charbuf - container id and descriptor name
fd.containerdirectory charbuf - container id and directory
fd.proto port F protocol of either end (filter only)
fd.cproto charbuf - client protocol
fd.sproto charbuf - server protocol
fd.lproto charbuf - local protocol
fd.rproto charbuf - remote protocol
fd.net ipnet F either end matches the network (filter only)
fd.cnet ipnet F client end matches the network (filter only)
fd.snet ipnet F server end matches the network (filter only)
fd.lnet ipnet F local end matches the network (filter only)
fd.rnet ipnet F remote end matches the network (filter only)
fd.connected bool - socket is connected
fd.name_changed bool - the name changed during the event
fd.cip.name charbuf - domain name of the client IP
fd.sip.name charbuf - domain name of the server IP
fd.lip.name charbuf - domain name of the local IP
fd.rip.name charbuf - domain name of the remote IP
fd.dev int32 - device number of the file
fd.dev.major int32 - major device number
fd.dev.minor int32 - minor device number
fd.ino int64 - inode number
fd.nameraw charbuf - name without path normalisation
fd.types charbuf La types of all descriptors of the process
fd.is_upper_layer bool - file lives in an overlayfs upper layer
fd.is_lower_layer bool - file lives in an overlayfs lower layer
fdlist.nums charbuf - descriptor numbers of poll/select
fdlist.names charbuf - descriptor names of poll/select
fdlist.cips charbuf - client IPs of poll/select descriptors
fdlist.sips charbuf - server IPs of poll/select descriptors
fdlist.cports charbuf - client ports of poll/select descriptors
fdlist.sports charbuf - server ports of poll/select descriptors
fs.path.name charbuf - path of a filesystem call
fs.path.nameraw charbuf - path of a filesystem call, not normalised
fs.path.source charbuf - source path of a two-path call
fs.path.sourceraw charbuf - source path, not normalised
fs.path.target charbuf - target path of a two-path call
fs.path.targetraw charbuf - target path, not normalised
util.cnt uint64 - counter, 1 for every event
container.id charbuf - truncated container id, host for host processes
container.full_id charbuf - full container id
container.name charbuf - container name
container.image charbuf - container image name
container.image.id charbuf - container image id
container.type charbuf - container runtime type
container.privileged bool - container runs privileged
container.mounts charbuf - all mounts as text
container.mount charbuf AI one mount by index or source path
container.mount.source charbuf AI mount source by index or destination
container.mount.dest charbuf AI mount destination by index or source
container.mount.mode charbuf AI mount mode
container.mount.rdwr charbuf AI mount read/write flag
container.mount.propagation charbuf AI mount propagation
container.image.repository charbuf - image repository
container.image.tag charbuf - image tag
container.image.digest charbuf - image digest
container.healthcheck charbuf - health check command
container.liveness_probe charbuf - liveness probe command
container.readiness_probe charbuf - readiness probe command
container.start_ts abstime - container start time
container.duration relativetime - nanoseconds since the container started
container.ip charbuf - container IP address
container.cni.json charbuf - CNI result as JSON
container.host_pid bool - container shares the host pid namespace
container.host_network bool - container shares the host network namespace
container.host_ipc bool - container shares the host IPC namespace
container.label charbuf AKD one container label
container.labels charbuf - all container labels
container.info charbuf X deprecated, ignored in outputs
k8s.pod.name charbuf - Kubernetes pod name
k8s.ns.name charbuf - Kubernetes namespace name
k8s.pod.id charbuf - pod id (legacy name of the uid)
k8s.pod.uid charbuf - pod uid
k8s.pod.sandbox_id charbuf - truncated pod sandbox id
k8s.pod.full_sandbox_id charbuf - full pod sandbox id
k8s.pod.label charbuf AKD one pod label
k8s.pod.labels charbuf - all pod labels
k8s.pod.ip charbuf - pod IP address
k8s.pod.cni.json charbuf - pod CNI result as JSON
k8s.rc.name charbuf X replication controller name (deprecated, empty)
k8s.rc.id charbuf X replication controller id (deprecated, empty)
k8s.rc.label charbuf AKDX replication controller label (deprecated, empty)
k8s.rc.labels charbuf X replication controller labels (deprecated, empty)
k8s.svc.name charbuf X service name (deprecated, empty)
k8s.svc.id charbuf X service id (deprecated, empty)
k8s.svc.label charbuf AKDX service label (deprecated, empty)
k8s.svc.labels charbuf X service labels (deprecated, empty)
k8s.ns.id charbuf X namespace id (deprecated, empty)
k8s.ns.label charbuf AKDX namespace label (deprecated, empty)
k8s.ns.labels charbuf X namespace labels (deprecated, empty)
k8s.rs.name charbuf X replica set name (deprecated, empty)
k8s.rs.id charbuf X replica set id (deprecated, empty)
k8s.rs.label charbuf AKDX replica set label (deprecated, empty)
k8s.rs.labels charbuf X replica set labels (deprecated, empty)
k8s.deployment.name charbuf X deployment name (deprecated, empty)
k8s.deployment.id charbuf X deployment id (deprecated, empty)
k8s.deployment.label charbuf AKDX deployment label (deprecated, empty)
k8s.deployment.labels charbuf X deployment labels (deprecated, empty)
`);

/** The syscall source's field table (generic evt.* first). Extraction is supplied by src/sources/syscall. */
export const SYSCALL_FIELDS: readonly FieldSpec[] = [...GENERIC_EVT_FIELDS, ...SYSCALL_ONLY];

/** Fields the container plugin marks "suggested": Falco appends them to every syscall rule output. */
export const SUGGESTED_OUTPUT_FIELDS: readonly string[] = [
  'container.id',
  'container.name',
  'container.image.repository',
  'container.image.tag',
  'k8s.pod.name',
  'k8s.ns.name',
];
