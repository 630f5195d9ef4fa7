// The PostgreSQL JDBC driver against Sluice, as DBeaver, DataGrip and Metabase use it: the
// DatabaseMetaData calls a database browser makes first, a prepared statement with parameters,
// and a push query read row by row in cursor mode (autocommit off, setFetchSize).
//
// Run as a single-file program: java -cp postgresql.jar JdbcClient.java URL MODE [ARGS...]
// MODE metadata: prints what getSchemas/getTables/getColumns/getPrimaryKeys/getTypeInfo return,
// one line each, as `kind|field|field...`.
// MODE prepared STREAM: inserts rows with a PreparedStatement, reads them back with a parameter.
// MODE cursor STREAM N: reads N rows of a push query with setFetchSize(2), printing each.
import java.sql.*;
import java.util.*;

public class JdbcClient {
    static void print(String kind, ResultSet rs, String... columns) throws SQLException {
        while (rs.next()) {
            StringBuilder line = new StringBuilder(kind);
            for (String c : columns) {
                line.append('|').append(rs.getString(c));
            }
            System.out.println(line);
        }
        rs.close();
    }

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String mode = args[1];
        try (Connection conn = DriverManager.getConnection(url, "sluice", "")) {
            switch (mode) {
                case "metadata": {
                    DatabaseMetaData md = conn.getMetaData();
                    System.out.println("product|" + md.getDatabaseProductName() + "|" + md.getDatabaseProductVersion());
                    print("schema", md.getSchemas(), "TABLE_SCHEM");
                    print("table", md.getTables(null, null, "%", null), "TABLE_SCHEM", "TABLE_NAME", "TABLE_TYPE");
                    print("table_types", md.getTableTypes(), "TABLE_TYPE");
                    print("column", md.getColumns(null, "public", "%", "%"), "TABLE_NAME", "COLUMN_NAME", "TYPE_NAME", "DATA_TYPE", "COLUMN_SIZE", "DECIMAL_DIGITS", "NULLABLE", "ORDINAL_POSITION");
                    for (String t : args.length > 2 ? args[2].split(",") : new String[0]) {
                        print("pk", md.getPrimaryKeys(null, null, t), "TABLE_NAME", "COLUMN_NAME", "KEY_SEQ", "PK_NAME");
                        print("index", md.getIndexInfo(null, null, t, false, true), "TABLE_NAME", "INDEX_NAME", "COLUMN_NAME", "NON_UNIQUE");
                        print("imported", md.getImportedKeys(null, null, t), "FKTABLE_NAME");
                    }
                    print("type", md.getTypeInfo(), "TYPE_NAME", "DATA_TYPE");
                    print("function", md.getFunctions(null, null, "%"), "FUNCTION_NAME");
                    break;
                }
                case "prepared": {
                    String stream = args[2];
                    try (PreparedStatement insert = conn.prepareStatement(
                            "INSERT INTO " + stream + " (id, amount, item) VALUES (?, ?, ?)")) {
                        for (int i = 1; i <= 5; i++) {
                            insert.setString(1, "k" + i);
                            insert.setBigDecimal(2, new java.math.BigDecimal(i * 10 + ".25"));
                            insert.setString(3, "item" + i);
                            insert.executeUpdate();
                        }
                    }
                    try (PreparedStatement select = conn.prepareStatement(
                            "SELECT id, amount, item FROM " + stream + " WHERE amount > ? AND item <> ?")) {
                        select.setBigDecimal(1, new java.math.BigDecimal("25"));
                        select.setString(2, "item4");
                        try (ResultSet rs = select.executeQuery()) {
                            ResultSetMetaData md = rs.getMetaData();
                            System.out.println("columns|" + md.getColumnTypeName(1) + "|" + md.getColumnTypeName(2));
                            while (rs.next()) {
                                System.out.println("row|" + rs.getString(1) + "|" + rs.getBigDecimal(2) + "|" + rs.getString(3));
                            }
                        }
                    }
                    break;
                }
                case "cursor": {
                    String stream = args[2];
                    int wanted = Integer.parseInt(args[3]);
                    conn.setAutoCommit(false);
                    try (Statement st = conn.createStatement()) {
                        st.execute("SET 'auto.offset.reset'='earliest'");
                        st.setFetchSize(2);
                        try (ResultSet rs = st.executeQuery("SELECT id, amount FROM " + stream + " EMIT CHANGES")) {
                            int n = 0;
                            while (n < wanted && rs.next()) {
                                n++;
                                System.out.println("row|" + rs.getString(1) + "|" + rs.getBigDecimal(2));
                                System.out.flush();
                            }
                        }
                    }
                    conn.commit();
                    System.out.println("done");
                    break;
                }
                default:
                    throw new IllegalArgumentException("unknown mode " + mode);
            }
        }
    }
}
