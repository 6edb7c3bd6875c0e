//! Diagnostics: what the validator says about a keyfile, with a stable code, the place, a
//! message and, where it can, the fix.
//!
//! Every [`Code`] belongs to one [`Class`]: NetworkManager **refuses** the file or the profile,
//! NetworkManager **alters** it (loads something other than what is written: a dropped address,
//! an ignored key, an octal number), or it is a **risk** worth a look; the first two are errors.
//! The validator gives those three. Reading keyfiles back into an nmstate state
//! ([`crate::render::to_state`]) gives a fourth, warnings: what nmstate's state cannot hold and
//! so leaves **unrepresented**.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

/// How bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// NetworkManager would refuse the profile or load something other than what is written.
    Error,
    /// A risk.
    Warning,
}

/// Why a code is what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// NetworkManager refuses the file (GKeyFile) or the profile (verification).
    Refused,
    /// NetworkManager loads the profile, but not as written.
    Altered,
    /// Loads as written; worth a look.
    Risk,
    /// What an nmstate state read back from keyfiles leaves out.
    Unrepresented,
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal, $class:ident;)*) => {
        /// A diagnostic's stable code (its kebab-case name is what JSON output and docs use).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable name.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The class.
            pub fn class(self) -> Class {
                match self { $(Code::$variant => Class::$class,)* }
            }
        }
    };
}

codes! {
    /// GLib refuses the file as a whole.
    LoadError = "load-error", Refused;
    /// `connection.id` missing or empty where no file name stands in for it.
    IdMissing = "id-missing", Refused;
    /// `connection.uuid` is no UUID.
    UuidInvalid = "uuid-invalid", Refused;
    /// No `connection.type` and no setting to infer it from.
    TypeMissing = "type-missing", Refused;
    /// `connection.type` names no connection type.
    TypeInvalid = "type-invalid", Refused;
    /// An interface name the kernel would refuse.
    InterfaceNameInvalid = "interface-name-invalid", Refused;
    /// Bonds and bridges need `connection.interface-name`.
    InterfaceNameMissing = "interface-name-missing", Refused;
    /// `connection.permissions` not in the form `user:NAME[:]`.
    PermissionsInvalid = "permissions-invalid", Refused;
    /// `ipvX.method` missing.
    MethodMissing = "method-missing", Refused;
    /// `ipvX.method` is no method (`static`, `dhcp` for IPv4, `none`).
    MethodInvalid = "method-invalid", Refused;
    /// `method=manual` with no address left.
    ManualWithoutAddresses = "manual-without-addresses", Refused;
    /// Addresses or DNS with a method that forbids them.
    NotAllowedForMethod = "not-allowed-for-method", Refused;
    /// `ipvX.gateway` is no address of the family.
    GatewayInvalid = "gateway-invalid", Refused;
    /// A gateway with no address.
    GatewayWithoutAddresses = "gateway-without-addresses", Refused;
    /// Bond options that contradict each other or the mode.
    BondOptionConflict = "bond-option-conflict", Refused;
    /// `vlan.id` above 4094.
    VlanIdRange = "vlan-id-range", Refused;
    /// A VLAN without `vlan.parent` or a parent MAC.
    VlanParentMissing = "vlan-parent-missing", Refused;
    /// `vlan.parent` neither a UUID nor an interface name.
    VlanParentInvalid = "vlan-parent-invalid", Refused;
    /// A `[user]` key without a namespace or with invalid characters.
    UserKeyInvalid = "user-key-invalid", Refused;
    /// Two files with the same UUID: NetworkManager loads one of them.
    UuidDuplicate = "uuid-duplicate", Refused;
    /// File permissions or owner NetworkManager refuses to load.
    FileInsecure = "file-insecure", Refused;
    /// A value NetworkManager's verification refuses (a duplex, a VLAN protocol, a bridge
    /// mask, an IPv6 token, ...); the message is NetworkManager's.
    ValueInvalid = "value-invalid", Refused;
    /// `master` without `slave-type`, or the reverse.
    PortIncomplete = "port-incomplete", Refused;

    /// A value GLib cannot read (a bad escape): NetworkManager sees no value.
    ValueUnreadable = "value-unreadable", Altered;
    /// A group NetworkManager does not know: skipped.
    GroupUnknown = "group-unknown", Altered;
    /// A translated key (`id[de]=`): never read.
    LocaleKey = "locale-key", Altered;
    /// A NUL byte: GLib reads the line only up to it.
    NulByte = "nul-byte", Altered;
    /// No integer: the property keeps its default.
    IntegerInvalid = "integer-invalid", Altered;
    /// A leading zero: NetworkManager reads the number as octal.
    IntegerOctal = "integer-octal", Altered;
    /// Not `true`/`false`/`1`/`0`: the property keeps its default.
    BooleanInvalid = "boolean-invalid", Altered;
    /// Not a hardware address: the property is dropped.
    MacInvalid = "mac-invalid", Altered;
    /// An address NetworkManager drops.
    AddressDropped = "address-dropped", Altered;
    /// A missing or invalid prefix length NetworkManager replaces by a default.
    PrefixDefaulted = "prefix-defaulted", Altered;
    /// `ADDR/NETMASK`: the netmask is read as the gateway.
    NetmaskAsGateway = "netmask-as-gateway", Altered;
    /// A route NetworkManager drops.
    RouteDropped = "route-dropped", Altered;
    /// `routeN_options` that do not parse: every option of the route is dropped, silently.
    RouteOptionsDropped = "route-options-dropped", Altered;
    /// DNS servers NetworkManager drops.
    DnsDropped = "dns-dropped", Altered;
    /// A `dns-search` element with `,` or space: one bogus domain on this NetworkManager.
    DnsSearchSeparator = "dns-search-separator", Altered;
    /// `never-default=true` with a gateway: the gateway is removed.
    GatewayNeverDefault = "gateway-never-default", Altered;
    /// `method=shared` keeps only the first address.
    SharedExtraAddresses = "shared-extra-addresses", Altered;
    /// An `ipv6.addr-gen-mode` NetworkManager does not know: `default-or-eui64` is used.
    AddrGenModeInvalid = "addr-gen-mode-invalid", Altered;
    /// A bond option or value NetworkManager drops.
    BondOptionInvalid = "bond-option-invalid", Altered;
    /// A bond option not valid for the mode: removed.
    BondOptionRemoved = "bond-option-removed", Altered;
    /// A key this NetworkManager version does not read (`controller=` before 1.46).
    KeyNeedsNewerNm = "key-needs-newer-nm", Altered;
    /// IP settings on a port profile: removed.
    PortIpRemoved = "port-ip-removed", Altered;

    /// The same key twice in a group: the last wins.
    DuplicateKey = "duplicate-key", Risk;
    /// A group opened twice: merged.
    RepeatedGroup = "repeated-group", Risk;
    /// A key NetworkManager does not know: ignored without a word.
    KeyUnknown = "key-unknown", Risk;
    /// A hexadecimal number (read as such; rarely meant).
    IntegerHex = "integer-hex", Risk;
    /// A gateway not reachable from any address or direct route.
    GatewayUnreachable = "gateway-unreachable", Risk;
    /// `gateway=` and a gateway in `addressN`: the key wins.
    GatewayKeyOverrides = "gateway-key-overrides", Risk;
    /// The same address twice.
    DuplicateAddress = "duplicate-address", Risk;
    /// A route destination with host bits set (kept as written).
    RouteHostBits = "route-host-bits", Risk;
    /// A route option NetworkManager 1.42 does not know (ignored).
    RouteOptionUnknown = "route-option-unknown", Risk;
    /// `xmit_hash_policy` with a mode that ignores it.
    BondOptionIgnored = "bond-option-ignored", Risk;
    /// A bond without `mode`: balance-rr.
    BondModeMissing = "bond-mode-missing", Risk;
    /// A VLAN without `id`: VLAN 0.
    VlanIdMissing = "vlan-id-missing", Risk;
    /// No `uuid`: NetworkManager derives one from the file's path.
    UuidMissing = "uuid-missing", Risk;
    /// An upper-case UUID (normalised to lower case).
    UuidUppercase = "uuid-uppercase", Risk;
    /// No `id`: NetworkManager names the profile after the file.
    IdFromFilename = "id-from-filename", Risk;
    /// No `[ipv4]`/`[ipv6]`: NetworkManager adds `method=auto` (DHCP / SLAAC).
    IpDefaultsToAuto = "ip-defaults-to-auto", Risk;
    /// Two profiles with the same `id`.
    IdDuplicate = "id-duplicate", Risk;
    /// A port whose controller is no profile of the set.
    ControllerDangling = "controller-dangling", Risk;
    /// File mode other than 0600.
    FileMode = "file-mode", Risk;

    /// A profile whose type the state has no interface type for: left out.
    StateTypeUnsupported = "state-type-unsupported", Unrepresented;
    /// A profile without an interface name (nmstate names interfaces): left out.
    StateInterfaceNameMissing = "state-interface-name-missing", Unrepresented;
    /// A second profile for an interface: left out (NetworkManager activates one of them).
    StateInterfaceDuplicate = "state-interface-duplicate", Unrepresented;
    /// A key or value the state has no field for: left out.
    StateKeyLeftOut = "state-key-left-out", Unrepresented;
    /// A value NetworkManager does not load as written: the state holds what it loads.
    StateValueUnread = "state-value-unread", Unrepresented;
    /// No `ipvX.method`: NetworkManager uses `auto`, and so does the state.
    StateMethodDefault = "state-method-default", Unrepresented;
    /// A port that is no port the state can say: its controller is missing from the set, is
    /// no bond or bridge of its `slave-type`, or only one of `master`/`slave-type` is written.
    StatePortUnresolved = "state-port-unresolved", Unrepresented;
    /// IP settings on a port: NetworkManager removes them, and so does the state.
    StatePortIp = "state-port-ip", Unrepresented;
}

impl Code {
    /// Error for refused and altered, warning for risks and what a state leaves out.
    pub fn severity(self) -> Severity {
        match self.class() {
            Class::Refused | Class::Altered => Severity::Error,
            Class::Risk | Class::Unrepresented => Severity::Warning,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (from the code).
    pub severity: Severity,
    /// Line, 1-based; 0 when it concerns the file as a whole.
    pub line: usize,
    /// Column, 1-based (characters); 0 with line 0.
    pub column: usize,
    /// The group, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The key, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// What is wrong, and what NetworkManager does about it.
    pub message: String,
    /// The fix, where one is known (`did you mean 10.10.99.99/24?`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at a place.
    pub fn new(code: Code, line: usize, column: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            line,
            column,
            group: None,
            key: None,
            message: message.into(),
            help: None,
        }
    }

    /// Renders like rustc: the headline, `--> file:line:col`, the source line and a caret under
    /// the column, then the help.
    ///
    /// ```
    /// use bm_nmconn::diag::{Code, Diagnostic};
    /// let d = Diagnostic::new(Code::IntegerOctal, 2, 5, "`01500` is octal: NetworkManager loads 832");
    /// let text = d.render("eth0.nmconnection", Some("mtu=01500"));
    /// assert!(text.starts_with("error[integer-octal]: `01500` is octal"));
    /// assert!(text.contains("--> eth0.nmconnection:2:5"));
    /// assert!(text.contains("2 | mtu=01500\n  |     ^^^^^\n"));
    /// ```
    pub fn render(&self, path: &str, source_line: Option<&str>) -> String {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{sev}[{}]: {}\n", self.code, self.message);
        if self.line == 0 {
            let _ = writeln!(out, " --> {path}");
        } else {
            let num = self.line.to_string();
            let pad = " ".repeat(num.len());
            let _ = writeln!(out, "{pad}--> {path}:{}:{}", self.line, self.column);
            if let Some(src) = source_line {
                let skip = self.column.saturating_sub(1);
                let caret_at: String = src.chars().take(skip).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
                // Underline to the end of the value (at least one caret).
                let width = src.chars().skip(skip).collect::<String>().trim_end().chars().count().max(1);
                let _ = writeln!(out, "{pad} |\n{num} | {src}\n{pad} | {caret_at}{}", "^".repeat(width));
            }
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {help}");
        }
        out
    }
}
