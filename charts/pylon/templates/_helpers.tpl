{{/*
Object names are fixed (pylon-controller, pylon-speaker, ...): the
components find their Secrets and webhook configuration by these names, and
CRDs are cluster-wide, so a cluster holds one Pylon.
*/}}

{{/* Labels of every object; call with (dict "ctx" $ "component" "controller"). */}}
{{- define "pylon.labels" -}}
{{ include "pylon.selectorLabels" . }}
app.kubernetes.io/part-of: pylon
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Selector labels; the same as config/ uses, so either install can replace the other. */}}
{{- define "pylon.selectorLabels" -}}
app.kubernetes.io/name: pylon
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The image reference. */}}
{{- define "pylon.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Pod scheduling and image pull settings; call with (dict "ctx" $ "v" .Values.speaker). */}}
{{- define "pylon.podScheduling" -}}
{{- with .ctx.Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .v.nodeSelector }}
nodeSelector:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.tolerations }}
tolerations:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .v.affinity }}
affinity:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
