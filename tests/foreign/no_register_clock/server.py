# servidor.py - chat simples, sem cadastro: o cliente já manda "nome: mensagem"
# e o servidor repassa para os outros com a hora na frente: "<HH:MM:SS> nome: mensagem"
import socket
import threading
import time

HOST = '127.0.0.1'
PORTA = 32717

conexoes = []
trava = threading.Lock()


def repassar(msg, origem):
    hora = time.strftime('%H:%M:%S')
    with trava:
        for c in conexoes:
            if c is not origem:
                try:
                    c.sendall(f'<{hora}> {msg}'.encode())
                except OSError:
                    pass


def cliente(conn, addr):
    with trava:
        conexoes.append(conn)
    print('Nova conexão:', addr)
    while True:
        try:
            dados = conn.recv(1024)
        except OSError:
            break
        if not dados:
            break
        repassar(dados.decode(errors='ignore'), conn)
    with trava:
        conexoes.remove(conn)
    conn.close()
    print('Conexão encerrada:', addr)


s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((HOST, PORTA))
s.listen()
print('Servidor no ar na porta', PORTA)
while True:
    conn, addr = s.accept()
    threading.Thread(target=cliente, args=(conn, addr), daemon=True).start()
