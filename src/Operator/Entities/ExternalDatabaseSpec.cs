using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using UserApiOperator.Kubernetes.Entities;

namespace UserApiOperator.Entities;

/// <summary>
/// A MySQL server outside the Pods (a managed MySQL, an InnoDB Cluster or Galera behind a router).
/// Set: each Pod runs the api container alone against it; no db container, no generated Secret.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
[ValidationRule("!has(self.caSecretRef) || (has(self.sslMode) && self.sslMode in ['VerifyCA', 'VerifyFull'])",
    Message = "caSecretRef is used only with sslMode VerifyCA or VerifyFull", FieldPath = ".caSecretRef")]
public sealed class ExternalDatabaseSpec
{
    /// <summary>Host name or IP address of the server.</summary>
    [Required]
    [MinLength(1)]
    [MaxLength(253)]
    public string Host { get; set; } = "";

    /// <summary>TCP port of the server.</summary>
    [Range(1, 65535)]
    public int Port { get; set; } = 3306;

    /// <summary>Database (schema) that holds the Users table.</summary>
    [RegularExpression("^[A-Za-z0-9_$]{1,64}$")]
    public string Database { get; set; } = "Main";

    /// <summary>MySQL user the API logs in as.</summary>
    [RegularExpression("^[A-Za-z0-9_.@-]{1,32}$")]
    public string User { get; set; } = "root";

    /// <summary>The Secret key that holds the user's password (required: the operator never generates one for an external server).</summary>
    [Required]
    public SecretKeyReference PasswordSecretRef { get; set; } = new();

    /// <summary>
    /// TLS use, as the API's MYSQL_SSL_MODE: None (never), Preferred (when the server offers it),
    /// Required (always, certificate not checked), VerifyCA (certificate issued by a trusted CA), VerifyFull (and for host).
    /// </summary>
    public SslMode SslMode { get; set; } = SslMode.Preferred;

    /// <summary>A Secret key holding the PEM CA certificate(s) that issued the server's certificate (a managed database's CA bundle); mounted read-only and passed as MYSQL_SSL_CA. Unset: the system's trusted CAs.</summary>
    public SecretKeyReference? CaSecretRef { get; set; }
}

/// <summary>TLS use towards an external MySQL server (MySqlConnector's SslMode names, the API's MYSQL_SSL_MODE values).</summary>
public enum SslMode
{
    /// <summary>Never TLS.</summary>
    None,

    /// <summary>TLS when the server offers it.</summary>
    Preferred,

    /// <summary>Always TLS; the certificate is not checked.</summary>
    Required,

    /// <summary>Always TLS; the certificate must come from a trusted CA.</summary>
    VerifyCA,

    /// <summary>Always TLS; the certificate must come from a trusted CA and name the host.</summary>
    VerifyFull,
}
