//go:build linux

package initproc

import (
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountOptions is a spec mount's "options" list split the way the kernel
// wants it: mount(2) flags, propagation changes (each needs its own
// mount(2) call), mount_setattr(2) attributes for the recursive "r" options,
// and the filesystem-specific rest as the data string.
type mountOptions struct {
	// flags are the MS_* flags to set, including MS_BIND and MS_REC.
	flags uintptr
	// clear are the MS_* flags the options explicitly turned off ("rw",
	// "suid", "dev", ...). A bind remount keeps the source mount's flags
	// unless they are listed here.
	clear uintptr
	// propagation lists MS_SHARED, MS_PRIVATE|MS_REC, ... in spec order.
	propagation []uintptr
	// attrSet and attrClr are MOUNT_ATTR_* for mount_setattr(2) with
	// AT_RECURSIVE ("rro", "rnosuid", ...).
	attrSet, attrClr uint64
	// data is everything not recognised, comma-joined ("size=65536k,mode=755").
	data string
	// idmap is set by "idmap" and "ridmap": the runtime parent made the
	// mount (see IDMapOf); idmapRecursive by "ridmap" alone.
	idmap, idmapRecursive bool
	// tmpcopyup is set by "tmpcopyup"; nook does not support it yet.
	tmpcopyup bool
}

// atimeFlags are the mutually exclusive access-time modes of mount(2).
const atimeFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME

// mountFlagOptions maps an option to the flag it sets (clear == false) or
// clears (clear == true). See mount(8), "FILESYSTEM-INDEPENDENT MOUNT OPTIONS".
var mountFlagOptions = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"iversion":      {false, unix.MS_I_VERSION},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"loud":          {true, unix.MS_SILENT},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"noiversion":    {true, unix.MS_I_VERSION},
	"nolazytime":    {true, unix.MS_LAZYTIME},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"nosymfollow":   {false, unix.MS_NOSYMFOLLOW},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"remount":       {false, unix.MS_REMOUNT},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"silent":        {false, unix.MS_SILENT},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"symfollow":     {true, unix.MS_NOSYMFOLLOW},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

// propagationOptions maps the shared-subtree options to mount(2) flags. See
// Documentation/filesystems/sharedsubtree.rst in the kernel tree.
var propagationOptions = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// recursiveOptions maps the "r" options to mount_setattr(2) attributes.
// Access time is an enum, not a bit set: mount_setattr(2) wants
// MOUNT_ATTR__ATIME in attr_clr whenever one of its values is set.
var recursiveOptions = map[string]struct{ set, clr uint64 }{
	"rro":            {unix.MOUNT_ATTR_RDONLY, 0},
	"rrw":            {0, unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {unix.MOUNT_ATTR_NOSUID, 0},
	"rsuid":          {0, unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {unix.MOUNT_ATTR_NODEV, 0},
	"rdev":           {0, unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {unix.MOUNT_ATTR_NOEXEC, 0},
	"rexec":          {0, unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {unix.MOUNT_ATTR_NODIRATIME, 0},
	"rdiratime":      {0, unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {unix.MOUNT_ATTR_NOSYMFOLLOW, 0},
	"rsymfollow":     {0, unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rnoatime":       {unix.MOUNT_ATTR_NOATIME, unix.MOUNT_ATTR__ATIME},
	"ratime":         {unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
	"rrelatime":      {unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
	"rnostrictatime": {unix.MOUNT_ATTR_RELATIME, unix.MOUNT_ATTR__ATIME},
	"rstrictatime":   {unix.MOUNT_ATTR_STRICTATIME, unix.MOUNT_ATTR__ATIME},
	"rnorelatime":    {unix.MOUNT_ATTR_STRICTATIME, unix.MOUNT_ATTR__ATIME},
}

// parseMountOptions splits a spec mount's options. Later options win over
// earlier ones ("ro,rw" is read-write), as with mount(8). It never fails:
// anything unknown is filesystem data for the kernel to judge.
func parseMountOptions(options []string) mountOptions {
	var o mountOptions
	var data []string
	for _, opt := range options {
		if f, ok := mountFlagOptions[opt]; ok {
			set, clr := f.flag, uintptr(0)
			if f.clear {
				set, clr = 0, f.flag
			}
			if set&atimeFlags != 0 {
				// One access-time mode replaces the others.
				o.flags &^= atimeFlags
				o.clear &^= atimeFlags
			}
			o.flags = o.flags&^clr | set
			o.clear = o.clear&^set | clr
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.propagation = append(o.propagation, p)
			continue
		}
		if r, ok := recursiveOptions[opt]; ok {
			o.attrSet = o.attrSet&^r.clr | r.set
			o.attrClr = o.attrClr&^r.set | r.clr
			continue
		}
		switch opt {
		case "":
		case "idmap":
			o.idmap, o.idmapRecursive = true, false
		case "ridmap":
			o.idmap, o.idmapRecursive = true, true
		case "tmpcopyup":
			o.tmpcopyup = true
		default:
			data = append(data, opt)
		}
	}
	o.data = strings.Join(data, ",")
	return o
}

// IDMap is how a spec mount asks to be idmapped, as the runtime parent needs
// to know it to make the mount (internal/runtime/idmap_linux.go).
type IDMap struct {
	// Tree copies the whole tree under the source ("rbind"), not just
	// its top mount.
	Tree bool
	// Recursive idmaps every mount of the copy ("ridmap"), not just its
	// top one ("idmap").
	Recursive bool
}

// IDMapOf reports whether m is an idmapped mount and how. Like runc, a
// mount with uidMappings or gidMappings is idmapped even without the
// "idmap" option (config.md: the option SHOULD be there, so that older
// runtimes do not ignore the mappings).
func IDMapOf(m specs.Mount) (IDMap, bool) {
	o := parseMountOptions(m.Options)
	if !o.idmap && len(m.UIDMappings) == 0 && len(m.GIDMappings) == 0 {
		return IDMap{}, false
	}
	return IDMap{Tree: o.flags&unix.MS_REC != 0, Recursive: o.idmapRecursive}, true
}

// IsBind reports whether m is a bind mount ("bind", "rbind" or type bind).
func IsBind(m specs.Mount) bool {
	return m.Type == "bind" || parseMountOptions(m.Options).flags&unix.MS_BIND != 0
}

// msNames names the mount(2) flags for the debug trace, in a fixed order.
var msNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_RDONLY, "MS_RDONLY"},
	{unix.MS_NOSUID, "MS_NOSUID"},
	{unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"},
	{unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"},
	{unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_MANDLOCK, "MS_MANDLOCK"},
	{unix.MS_DIRSYNC, "MS_DIRSYNC"},
	{unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
	{unix.MS_NOATIME, "MS_NOATIME"},
	{unix.MS_NODIRATIME, "MS_NODIRATIME"},
	{unix.MS_BIND, "MS_BIND"},
	{unix.MS_MOVE, "MS_MOVE"},
	{unix.MS_REC, "MS_REC"},
	{unix.MS_SILENT, "MS_SILENT"},
	{unix.MS_UNBINDABLE, "MS_UNBINDABLE"},
	{unix.MS_PRIVATE, "MS_PRIVATE"},
	{unix.MS_SLAVE, "MS_SLAVE"},
	{unix.MS_SHARED, "MS_SHARED"},
	{unix.MS_RELATIME, "MS_RELATIME"},
	{unix.MS_I_VERSION, "MS_I_VERSION"},
	{unix.MS_STRICTATIME, "MS_STRICTATIME"},
	{unix.MS_LAZYTIME, "MS_LAZYTIME"},
}

// flagNames renders mount(2) flags as "MS_NOSUID|MS_NODEV"; unnamed bits are
// shown in hex and no flags at all as "0".
func flagNames(flags uintptr) string {
	var names []string
	for _, n := range msNames {
		if flags&n.flag != 0 {
			names = append(names, n.name)
			flags &^= n.flag
		}
	}
	if flags != 0 {
		names = append(names, "0x"+strconv.FormatUint(uint64(flags), 16))
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}
