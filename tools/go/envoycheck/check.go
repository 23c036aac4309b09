package main

import (
	"fmt"
	"regexp"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
)

// Report lists what Envoy would reject (Errors) and what it would only log (Warnings).
type Report struct {
	Errors   []string
	Warnings []string
}

// strict decodes like Envoy's loader: an unknown field is an error, Any types resolve through
// the types linked in (extensions.go).
var strict = protojson.UnmarshalOptions{DiscardUnknown: false, Resolver: protoregistry.GlobalTypes}

// CheckBootstrapYAML decodes one envoy.yaml into a v3 Bootstrap and validates it.
func CheckBootstrapYAML(text []byte) Report {
	var r Report
	json, err := yaml.YAMLToJSON(text)
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("not YAML: %v", err))
		return r
	}
	if strings.TrimSpace(string(json)) == "null" {
		r.Errors = append(r.Errors, "empty: no Bootstrap in the file")
		return r
	}
	bootstrap := &bootstrapv3.Bootstrap{}
	if err := strict.Unmarshal(json, bootstrap); err != nil {
		r.Errors = append(r.Errors, "not a v3 Bootstrap: "+withFieldPath(json, err))
		return r
	}
	r.validate(bootstrap, "")
	r.walk(bootstrap.ProtoReflect(), "")
	return r
}

// validate runs the message's protoc-gen-validate rules (all of them, not just the first).
func (r *Report) validate(m proto.Message, path string) {
	v, ok := m.(interface{ ValidateAll() error })
	if !ok {
		return
	}
	if err := v.ValidateAll(); err != nil {
		r.Errors = append(r.Errors, flatten(err, path)...)
	}
}

// walk visits every set field: deprecated ones become warnings, and every Any is decoded strictly,
// validated and walked in turn (PGV's generated code stops at an Any; Envoy does not).
func (r *Report) walk(m protoreflect.Message, path string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		at := join(path, string(fd.Name()))
		if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDeprecated() {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: field %s is deprecated", at, fd.FullName()))
		}
		switch {
		case fd.IsList() && fd.Message() != nil:
			list := v.List()
			for i := 0; i < list.Len(); i++ {
				r.visit(list.Get(i).Message(), fmt.Sprintf("%s[%d]", at, i))
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				r.visit(mv.Message(), fmt.Sprintf("%s[%s]", at, k.String()))
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			r.visit(v.Message(), at)
		}
		return true
	})
}

func (r *Report) visit(m protoreflect.Message, path string) {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		r.walk(m, path)
		return
	}
	inner, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes})
	if err != nil {
		r.Errors = append(r.Errors, fmt.Sprintf("%s: %s: %v", path, a.GetTypeUrl(), err))
		return
	}
	r.validate(inner, path)
	r.walk(inner.ProtoReflect(), path)
}

// pgvError is what every protoc-gen-validate error type implements.
type pgvError interface {
	Field() string
	Reason() string
	Cause() error
}

// flatten turns PGV's nested errors ("invalid Bootstrap.StaticResources: embedded message failed
// validation | caused by: ...") into one line per violated rule with a snake_case field path.
func flatten(err error, path string) []string {
	if multi, ok := err.(interface{ AllErrors() []error }); ok {
		var out []string
		for _, e := range multi.AllErrors() {
			out = append(out, flatten(e, path)...)
		}
		return out
	}
	pe, ok := err.(pgvError)
	if !ok {
		return []string{fmt.Sprintf("%s: %v", orRoot(path), err)}
	}
	at := join(path, snakeField(pe.Field()))
	if pe.Cause() != nil && pe.Reason() == "embedded message failed validation" {
		return flatten(pe.Cause(), at)
	}
	if pe.Cause() != nil {
		return []string{fmt.Sprintf("%s: %s: %v", at, pe.Reason(), pe.Cause())}
	}
	return []string{fmt.Sprintf("%s: %s", at, pe.Reason())}
}

var upper = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// snakeField maps PGV's Go field names ("Listeners[0]", "TypedConfig") to the proto's
// ("listeners[0]", "typed_config").
func snakeField(field string) string {
	return strings.ToLower(upper.ReplaceAllString(field, "${1}_${2}"))
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func orRoot(path string) string {
	if path == "" {
		return "(bootstrap)"
	}
	return path
}
