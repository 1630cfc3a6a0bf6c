{{/* Chart name, truncated to the 63 characters a DNS label allows. */}}
{{- define "peregrine.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "peregrine.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of one component's objects: (dict "root" $ "component" "agent"). */}}
{{- define "peregrine.componentName" -}}
{{- printf "%s-%s" (include "peregrine.fullname" .root | trunc 54 | trimSuffix "-") .component -}}
{{- end -}}

{{- define "peregrine.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select one component's pods: (dict "root" $ "component" "agent"). */}}
{{- define "peregrine.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peregrine.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* All labels of one component's objects. */}}
{{- define "peregrine.labels" -}}
helm.sh/chart: {{ include "peregrine.chart" .root }}
{{ include "peregrine.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: peregrine
{{- end -}}

{{- define "peregrine.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The console runs only with the relay: the relay feeds it. */}}
{{- define "peregrine.consoleEnabled" -}}
{{- if and .Values.relay.enabled .Values.console.enabled -}}true{{- end -}}
{{- end -}}

{{- define "peregrine.relayURL" -}}
{{- printf "http://%s.%s.svc:%v" (include "peregrine.componentName" (dict "root" . "component" "relay")) .Release.Namespace .Values.relay.service.port -}}
{{- end -}}

{{- define "peregrine.consoleURL" -}}
{{- printf "http://%s.%s.svc:%v" (include "peregrine.componentName" (dict "root" . "component" "console")) .Release.Namespace .Values.console.service.port -}}
{{- end -}}

{{/*
Falcosidekick-style environment from a config tree: (dict "prefix" "" "tree" .Values.relay.config).
Key paths are upper-cased and joined with "_"; lists become comma lists; empty values are skipped.
Emits "NAME: base64" lines for a Secret's data.
*/}}
{{- define "peregrine.envFromTree" -}}
{{- $prefix := .prefix -}}
{{- range $k, $v := .tree }}
{{- $name := upper (ternary $k (printf "%s_%s" $prefix $k) (eq $prefix "")) -}}
{{- if kindIs "map" $v }}
{{- include "peregrine.envFromTree" (dict "prefix" $name "tree" $v) }}
{{- else if kindIs "slice" $v }}
{{- if $v }}
{{ $name }}: {{ join "," $v | b64enc | quote }}
{{- end }}
{{- else if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{ $name }}: {{ toString $v | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Pod-level security settings shared by the relay and the console (plain Node.js services). */}}
{{- define "peregrine.restrictedPodSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "peregrine.restrictedContainerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}
