import type { FieldSpec } from '../api.js';
import { GENERIC_EVT_FIELDS } from './generic.js';
import { fieldTable } from './table.js';

const KA = fieldTable(`
ka.auditid string - audit event id (auditID)
ka.stage string - audit stage (RequestReceived, ResponseComplete, ...)
ka.auth.decision string - authorization decision (allow or forbid)
ka.auth.reason string - authorization reason
ka.user.name string - user name making the request
ka.user.groups string L groups of the requesting user
ka.impuser.name string - impersonated user name
ka.verb string - action verb (create, get, list, ...)
ka.uri string - request URI
ka.uri.param string AK one query parameter of the request URI
ka.target.name string - name of the target object
ka.target.namespace string - namespace of the target object
ka.target.resource string - resource of the target object
ka.target.subresource string - subresource of the target object
ka.target.pod.name string - pod name of the target object
ka.req.binding.subjects string L subjects of a role binding
ka.req.binding.subjects.user_names string L user names among role binding subjects
ka.req.binding.subjects.serviceaccount_names string L service account names among role binding subjects
ka.req.binding.subjects.serviceaccount_ns_names string L service account namespaces among role binding subjects
ka.req.binding.subjects.group_names string L group names among role binding subjects
ka.req.binding.role string - role referenced by a role binding
ka.req.binding.subject.has_name string AKX deprecated: whether a binding subject has the name
ka.req.configmap.name string - name of a ConfigMap
ka.req.configmap.obj string - the ConfigMap object as JSON
ka.req.pod.containers.image string LaI images of the pod's containers
ka.req.container.image string X image of the first container (deprecated)
ka.req.pod.containers.image.repository string LaI image repositories of the pod's containers
ka.req.container.image.repository string X image repository of the first container (deprecated)
ka.req.pod.host_ipc string - hostIPC of the pod (true or false)
ka.req.pod.host_network string - hostNetwork of the pod (true or false)
ka.req.container.host_network string X deprecated alias of ka.req.pod.host_network
ka.req.pod.host_pid string - hostPID of the pod (true or false)
ka.req.pod.containers.host_port string LaI host ports of the pod's containers
ka.req.pod.containers.privileged string LaI privileged flags of the pod's containers
ka.req.container.privileged string X privileged flag of any container (deprecated)
ka.req.pod.containers.allow_privilege_escalation string LaI allowPrivilegeEscalation of the pod's containers
ka.req.pod.containers.read_only_fs string LaI readOnlyRootFilesystem of the pod's containers
ka.req.pod.run_as_user string - runAsUser of the pod security context
ka.req.pod.containers.run_as_user string LaI runAsUser of the pod's containers
ka.req.pod.containers.eff_run_as_user string LaI effective runAsUser of the pod's containers
ka.req.pod.run_as_group string - runAsGroup of the pod security context
ka.req.pod.containers.run_as_group string LaI runAsGroup of the pod's containers
ka.req.pod.containers.eff_run_as_group string LaI effective runAsGroup of the pod's containers
ka.req.pod.containers.proc_mount string LaI procMount of the pod's containers
ka.req.role.rules string L rules of a role
ka.req.role.rules.apiGroups string LaI apiGroups of a role's rules
ka.req.role.rules.nonResourceURLs string LaI nonResourceURLs of a role's rules
ka.req.role.rules.verbs string LaI verbs of a role's rules
ka.req.role.rules.resources string LaI resources of a role's rules
ka.req.pod.fs_group string - fsGroup of the pod
ka.req.pod.supplemental_groups string L supplementalGroups of the pod
ka.req.pod.containers.add_capabilities string LaI added capabilities of the pod's containers
ka.req.service.type string - type of a service
ka.req.service.ports string L ports of a service
ka.req.pod.volumes.hostpath string LaI hostPath volumes of the pod
ka.req.volume.hostpath string AKX deprecated: whether a hostPath volume uses the path
ka.req.pod.volumes.flexvolume_driver string LaI flexVolume drivers of the pod
ka.req.pod.volumes.volume_type string LaI volume types of the pod
ka.resp.name string - name of the object in the response
ka.response.code string - HTTP response code
ka.response.reason string - reason of the response
ka.useragent string - user agent of the client
ka.sourceips string LaI source IP addresses of the request
ka.cluster.name string - name of the cluster the event came from
ka.req.pod.containers.name string LaI names of the pod's containers
ka.req.pod.containers.command string LaI commands of the pod's containers
ka.req.pod.containers.args string LaI arguments of the pod's containers
ka.req.pod.initContainers.image string LaI images of the pod's init containers
ka.req.pod.initContainers.image.repository string LaI image repositories of the pod's init containers
ka.req.pod.initContainers.name string LaI names of the pod's init containers
ka.req.pod.initContainers.command string LaI commands of the pod's init containers
ka.req.pod.initContainers.args string LaI arguments of the pod's init containers
ka.req.pod.initContainers.host_port string LaI host ports of the pod's init containers
ka.req.pod.initContainers.privileged string LaI privileged flags of the pod's init containers
ka.req.pod.initContainers.allow_privilege_escalation string LaI allowPrivilegeEscalation of the pod's init containers
ka.req.pod.initContainers.read_only_fs string LaI readOnlyRootFilesystem of the pod's init containers
ka.req.pod.initContainers.run_as_user string LaI runAsUser of the pod's init containers
ka.req.pod.initContainers.eff_run_as_user string LaI effective runAsUser of the pod's init containers
ka.req.pod.initContainers.run_as_group string LaI runAsGroup of the pod's init containers
ka.req.pod.initContainers.eff_run_as_group string LaI effective runAsGroup of the pod's init containers
ka.req.pod.initContainers.proc_mount string LaI procMount of the pod's init containers
ka.req.pod.initContainers.add_capabilities string LaI added capabilities of the pod's init containers
ka.req.pod.ephemeralContainers.image string LaI images of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.image.repository string LaI image repositories of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.name string LaI names of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.command string LaI commands of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.args string LaI arguments of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.host_port string LaI host ports of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.privileged string LaI privileged flags of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.allow_privilege_escalation string LaI allowPrivilegeEscalation of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.read_only_fs string LaI readOnlyRootFilesystem of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.run_as_user string LaI runAsUser of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.eff_run_as_user string LaI effective runAsUser of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.run_as_group string LaI runAsGroup of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.eff_run_as_group string LaI effective runAsGroup of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.proc_mount string LaI procMount of the pod's ephemeral containers
ka.req.pod.ephemeralContainers.add_capabilities string LaI added capabilities of the pod's ephemeral containers
json.value string AK value at a JSON pointer (RFC 6901) in the event
json.obj string - the whole event as JSON
json.rawtime string - event time in nanoseconds, as text
jevt.value string AK alias of json.value
jevt.obj string - alias of json.obj
jevt.rawtime string - alias of json.rawtime
`);

/** The k8s_audit source's field table. Extraction is supplied by src/sources/k8saudit. */
export const K8S_AUDIT_FIELDS: readonly FieldSpec[] = [...GENERIC_EVT_FIELDS, ...KA];
