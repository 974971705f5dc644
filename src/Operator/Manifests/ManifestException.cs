namespace UserApiOperator.Manifests;

/// <summary>
/// A manifest file cannot be used: it is missing, unreadable, not YAML, not a UserApi, or invalid.
/// The message is one line that names the file and, where there is one, the document and field.
/// </summary>
/// <param name="message">One line naming the file and the fault.</param>
/// <param name="inner">The underlying exception, if any.</param>
public sealed class ManifestException(string message, Exception? inner = null) : Exception(message, inner);
