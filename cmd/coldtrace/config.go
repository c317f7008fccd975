package main

import (
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// envPrefix prefixes every flag's environment variable.
const envPrefix = "COLDTRACE_"

// loadConfig fills every flag the command line did not set from the
// environment, then from the config file. Flags stay the one definition of
// names, types, defaults and help.
func loadConfig(cmd *cobra.Command) error {
	k := koanf.New(".")
	configPath, _ := cmd.Flags().GetString("config")
	if configPath == "" {
		configPath = os.Getenv(envPrefix + "CONFIG")
	}
	if configPath != "" {
		if err := k.Load(file.Provider(configPath), yaml.Parser()); err != nil {
			return fmt.Errorf("config file %s: %w", configPath, err)
		}
	}
	fileKeys := map[string]bool{}
	for _, key := range k.Keys() {
		fileKeys[key] = true
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix: envPrefix,
		TransformFunc: func(key, value string) (string, any) {
			return flagNameFromEnv(key), value
		},
	}), nil); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" || !k.Exists(f.Name) {
			return
		}
		source := envNameFromFlag(f.Name)
		if _, fromEnv := os.LookupEnv(source); !fromEnv {
			source = fmt.Sprintf("%s in config file %s", f.Name, configPath)
		}
		if err := setFlag(f, k.Get(f.Name)); err != nil {
			errs = append(errs, fmt.Sprintf("%s (--%s): %v", source, f.Name, err))
		}
		markSet(f, source)
		delete(fileKeys, f.Name)
	})
	// One file may serve every command (COLDTRACE_CONFIG applies to all of
	// them): a key another command takes is left to it; a key no command
	// takes is a typo.
	var known map[string]bool
	for key := range fileKeys {
		if cmd.Flags().Lookup(key) != nil || isParentKey(key, fileKeys) {
			continue
		}
		if known == nil {
			known = allFlagNames(cmd.Root())
		}
		if !known[key] {
			errs = append(errs, fmt.Sprintf("config file: unknown key %q: no coldtrace command has a flag --%s", key, key))
		}
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// allFlagNames is the set of flag names of c and every command below it.
func allFlagNames(c *cobra.Command) map[string]bool {
	names := map[string]bool{}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		add := func(f *pflag.Flag) { names[f.Name] = true }
		c.LocalFlags().VisitAll(add)
		c.PersistentFlags().VisitAll(add)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(c)
	return names
}

func isParentKey(key string, keys map[string]bool) bool {
	for k := range keys {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// sourceAnnotation is the flag annotation that says where a value set by
// loadConfig came from, for error messages.
const sourceAnnotation = "coldtrace-source"

// markSet records that f was set from source (an environment variable or
// a config file). It counts as Changed: code that applies only the
// settings a user gave (fn deploy over coldtrace.json) must see these too.
func markSet(f *pflag.Flag, source string) {
	f.Changed = true
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[sourceAnnotation] = []string{source}
}

// flagSource names where the value of flag name came from, as a user
// would look for it: "--memory", "COLDTRACE_MEMORY" or "memory in config
// file c.yaml".
func flagSource(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil {
		if s := f.Annotations[sourceAnnotation]; len(s) == 1 {
			return s[0]
		}
	}
	return "--" + name
}

func flagNameFromEnv(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, envPrefix)), "_", "-")
}

func envNameFromFlag(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// setFlag sets f from a config value; lists may come as YAML sequences.
// A key without a value (YAML null) is the empty string, which turns off
// an address; other types need a value.
func setFlag(f *pflag.Flag, v any) error {
	if v == nil {
		if f.Value.Type() != "string" {
			return fmt.Errorf("has no value (give one, or leave the key out for the default %q)", f.DefValue)
		}
		return f.Value.Set("")
	}
	if list, ok := v.([]any); ok {
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			items := make([]string, len(list))
			for i, it := range list {
				items[i] = fmt.Sprint(it)
			}
			return sv.Replace(items)
		}
	}
	return f.Value.Set(fmt.Sprint(v))
}

func newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Inspect configuration"}
	print := &cobra.Command{
		Use:   "print COMMAND",
		Short: "Print the effective configuration of a command as YAML",
		Long: `Print the configuration a command would run with after applying the config
file, COLDTRACE_* environment variables and flags given here, e.g.
  coldtrace config print up --config coldtrace.yaml`,
		// The flags are the target command's, parsed by it.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
				return c.Help()
			}
			root := c.Root()
			target, rest, err := root.Find(args)
			if len(args) == 0 || err != nil || target == root || target == c || !target.Runnable() {
				what := "give the command to print the configuration of"
				if len(args) > 0 {
					what = fmt.Sprintf("unknown command %q", strings.Join(args, " "))
				}
				return fmt.Errorf("%s; one of:\n  %s", what, strings.Join(configurableCommands(root), "\n  "))
			}
			if hasHelpFlag(rest) {
				return c.Help()
			}
			if err := target.ParseFlags(rest); err != nil {
				return err
			}
			if err := loadConfig(target); err != nil {
				return err
			}
			var lines []string
			target.Flags().VisitAll(func(f *pflag.Flag) {
				if f.Name == "help" || f.Name == "config" {
					return
				}
				lines = append(lines, fmt.Sprintf("%s: %s  # %s", f.Name, redacted(f, yamlScalar(f)), envNameFromFlag(f.Name)))
			})
			sort.Strings(lines)
			fmt.Fprintln(c.OutOrStdout(), "# effective configuration of '"+target.CommandPath()+"'")
			for _, l := range lines {
				fmt.Fprintln(c.OutOrStdout(), l)
			}
			return nil
		},
	}
	cmd.AddCommand(print)
	return cmd
}

// configurableCommands are the paths below root, without its name, of the
// commands config print takes: those that run, but not config's own.
func configurableCommands(root *cobra.Command) []string {
	var paths []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "config" || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() {
				paths = append(paths, strings.TrimPrefix(sub.CommandPath(), root.Name()+" "))
			}
			walk(sub)
		}
	}
	walk(root)
	sort.Strings(paths)
	return paths
}

func hasHelpFlag(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			return true
		}
	}
	return false
}

// redacted hides the secrets in a printed flag value (yaml, from
// yamlScalar): tokens, and the password of a DSN. Printed configurations
// end up in tickets and chats.
func redacted(f *pflag.Flag, yaml string) string {
	v := f.Value.String()
	switch {
	case v == "":
		return yaml
	case strings.HasSuffix(f.Name, "token"): // not --auth-tokens-file, a path
		return `"<redacted>"`
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return yaml
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User, changed = url.UserPassword(u.User.Username(), "REDACTED"), true
	}
	q := u.Query()
	for k := range q {
		if k == "password" || strings.Contains(k, "secret") || strings.Contains(k, "token") {
			q.Set(k, "REDACTED")
			changed = true
		}
	}
	if !changed {
		return yaml
	}
	u.RawQuery = q.Encode()
	return fmt.Sprintf("%q", u.String())
}

func yamlScalar(f *pflag.Flag) string {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		items := sv.GetSlice()
		quoted := make([]string, len(items))
		for i, it := range items {
			quoted[i] = fmt.Sprintf("%q", it)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	switch f.Value.Type() {
	case "bool", "int", "int64", "uint", "uint64", "float64":
		return f.Value.String()
	}
	return fmt.Sprintf("%q", f.Value.String())
}
