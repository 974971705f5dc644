namespace UserApiOperator.Kubernetes.Client;

/// <summary>
/// The Kubernetes connection settings cannot be used: a kubeconfig file is missing or unreadable,
/// is not valid YAML, has no current context, names a context, cluster or user it does not define,
/// holds invalid base64 or PEM, or asks for something this client does not support (exec credential
/// plugins, auth providers, impersonation); or no configuration was found at all. The message names
/// the file and the entry at fault.
/// </summary>
/// <param name="message">What is wrong, naming the file and entry.</param>
/// <param name="innerException">The underlying I/O, YAML, base64 or crypto exception, if any.</param>
public sealed class KubeConfigException(string message, Exception? innerException = null) : Exception(message, innerException);
